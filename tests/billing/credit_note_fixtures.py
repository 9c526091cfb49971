"""Finalized invoices to credit, one per price model, with exact line amounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from billing.models import Invoice
from billing.services import (
    invoices_finalize_due,
    subscription_create,
    subscriptions_close_due,
)
from tests.billing.factories import (
    CustomerFactory,
    PriceFactory,
    hypernian,
    record_usage,
    tiered_price,
)

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)

TIERS = [(5, "700", "0"), (10, "650", "0"), (None, "600", "0")]


def per_unit():
    return PriceFactory(unit_amount_decimal=Decimal(1000))


def package():
    # 10.00 per package of 10 units, rounded up.
    return PriceFactory(
        unit_amount_decimal=Decimal(1000),
        transform_quantity_divide_by=10,
        transform_quantity_round="up",
    )


def volume():
    return tiered_price(mode="volume", tiers=TIERS)


def graduated():
    return tiered_price(mode="graduated", tiers=TIERS)


def licensed_invoice(
    price, quantity: int, *, customer=None, now=APR1, status: str = "open"
) -> Invoice:
    """The first invoice (finalized) of a subscription to ``quantity`` of ``price``."""
    customer = customer or CustomerFactory()
    sub = subscription_create(
        customer=customer,
        params={"items": [{"price": price.pk, "quantity": quantity}]},
        now=now,
    )
    invoice = Invoice.objects.get(pk=sub.latest_invoice_id)
    assert invoice.status == status, invoice.status
    return invoice


def usage_invoice(tokens: int) -> Invoice:
    """Seed 003's Hypernian Pro: the May 1 cycle invoice with ``tokens`` of April
    usage (graduated: the first 100,000 free, then 0.1 cent each) + 200.00."""
    customer = CustomerFactory()
    flat, overage = hypernian()
    subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
        now=APR1,
    )
    record_usage(
        meter=overage.recurring_meter,
        customer=customer,
        value=tokens,
        at=APR1 + 24 * HOUR,
    )
    subscriptions_close_due(now=MAY1)
    invoices_finalize_due(now=MAY1 + 2 * HOUR)
    return Invoice.objects.get(
        customer=customer, billing_reason="subscription_cycle", period_start=APR1
    )


def line_of(invoice: Invoice, *, metered: bool | None = None):
    lines = list(invoice.lines.order_by("position"))
    if metered is not None:
        lines = [line for line in lines if line.is_metered == metered]
    return lines[0]
