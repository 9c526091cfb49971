"""Stripe's basil shapes of subscriptions, invoices, lines and invoice items.

Plain functions from model instances to dicts: period close renders thousands of
these for events, so they avoid DRF's per-field machinery. The DRF serializers in
``billing.api.serializers`` declare the same shapes for the OpenAPI document and
call these.

The parts: ``parts`` (times, price and plan objects, pricing and quantity),
``subscriptions`` and ``invoices`` (with their lines and invoice items).
"""

from billing.api.render.discounts import coupon, discount, promotion_code
from billing.api.render.invoices import (
    LINES_SHOWN,
    invoice,
    invoice_item,
    line_item,
    lines_of,
)
from billing.api.render.parts import (
    plan_object,
    price_object,
    ts,
)
from billing.api.render.subscriptions import (
    subscription,
    subscription_item,
)

__all__ = [
    "coupon",
    "discount",
    "promotion_code",
    "ts",
    "price_object",
    "plan_object",
    "subscription_item",
    "subscription",
    "LINES_SHOWN",
    "line_item",
    "lines_of",
    "invoice",
    "invoice_item",
]
