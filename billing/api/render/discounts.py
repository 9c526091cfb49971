"""Coupons, promotion codes and discounts, in Stripe's shapes.

A promotion code shows its coupon both as ``coupon`` (the object, as API
versions before 2025 did) and as ``promotion: {type: "coupon", coupon: id}``
(the current shape); a discount likewise shows ``coupon`` and ``source``.
"""

from __future__ import annotations

from typing import Any

from billing.api.render.parts import ts
from core import clock


def _percent(value) -> float | None:
    # Stripe's shape is a JSON number; percentages carry at most two decimals.
    return None if value is None else float(value)


def coupon(row, *, nested: bool = False) -> dict[str, Any]:
    """The coupon; deleted, only its id (nested in a discount: all of it)."""
    if row.deleted and not nested:
        return {"id": row.pk, "object": "coupon", "deleted": True}
    return {
        "id": row.pk,
        "object": "coupon",
        "amount_off": row.amount_off,
        "applies_to": (
            {"products": list(row.applies_to_products)}
            if row.applies_to_products
            else None
        ),
        "created": ts(row.created),
        "currency": row.currency,
        "currency_options": None,
        "duration": row.duration,
        "duration_in_months": row.duration_in_months,
        "livemode": row.livemode,
        "max_redemptions": row.max_redemptions,
        "metadata": dict(row.metadata),
        "name": row.name,
        "percent_off": _percent(row.percent_off),
        "redeem_by": ts(row.redeem_by),
        "times_redeemed": row.times_redeemed,
        "valid": coupon_valid(row, now=clock.now()),
    }


def coupon_valid(row, *, now) -> bool:
    """Whether the coupon can still be redeemed at ``now``."""
    if row.deleted:
        return False
    if row.max_redemptions is not None and row.times_redeemed >= row.max_redemptions:
        return False
    return row.redeem_by is None or now < row.redeem_by


def promotion_code(row) -> dict[str, Any]:
    return {
        "id": row.pk,
        "object": "promotion_code",
        "active": row.active,
        "code": row.code,
        "coupon": coupon(row.coupon, nested=True),
        "created": ts(row.created),
        "customer": row.customer_id,
        "customer_account": None,
        "expires_at": ts(row.expires_at),
        "livemode": row.livemode,
        "max_redemptions": row.max_redemptions,
        "metadata": dict(row.metadata),
        "promotion": {"type": "coupon", "coupon": row.coupon_id},
        "restrictions": {
            "currency_options": {},
            "first_time_transaction": row.first_time_transaction,
            "minimum_amount": row.minimum_amount,
            "minimum_amount_currency": row.minimum_amount_currency,
        },
        "times_redeemed": row.times_redeemed,
    }


def discount(row) -> dict[str, Any]:
    return {
        "id": row.pk,
        "object": "discount",
        "checkout_session": None,
        "coupon": coupon(row.coupon, nested=True),
        "customer": row.customer_id,
        "customer_account": None,
        "end": ts(row.end),
        "invoice": row.invoice_id,
        "invoice_item": row.invoice_item_id,
        "promotion_code": row.promotion_code_id,
        "source": {"type": "coupon", "coupon": row.coupon_id},
        "start": ts(row.start),
        "subscription": row.subscription_id,
        "subscription_item": None,
    }
