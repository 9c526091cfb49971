"""The small shapes every billing object embeds: unix times, the price and plan
objects (cached on the fields of a price that can change), a line's pricing and
quantity.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from catalog.models import Price
from core import resources
from core.api.fields import decimal_string

_price_cache: dict[tuple, dict] = {}
_plan_cache: dict[tuple, dict] = {}


_PRICE_CACHE_SIZE = 2000


def ts(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def _price_key(price: Price) -> tuple:
    """A price as of the fields of it that can change (the others never do)."""
    return (
        price.pk,
        price.active,
        price.nickname,
        price.lookup_key,
        price.tax_behavior,
        tuple(sorted(price.metadata.items())),
    )


def price_object(price: Price) -> dict[str, Any]:
    """The full price object; cached on the fields of a price that can change."""
    key = _price_key(price)
    cached = _price_cache.get(key)
    if cached is None:
        if len(_price_cache) >= _PRICE_CACHE_SIZE:
            _price_cache.clear()
        cached = _price_cache[key] = resources.serialize(price)
    return dict(cached)


def plan_object(price: Price) -> dict[str, Any]:
    """The legacy ``plan`` view of a recurring price (same id); cached as the
    price object is (a subscription's event shows it once per item)."""
    key = _price_key(price)
    cached = _plan_cache.get(key)
    if cached is None:
        if len(_plan_cache) >= _PRICE_CACHE_SIZE:
            _plan_cache.clear()
        cached = _plan_cache[key] = _plan(price)
    return {**cached, "metadata": dict(cached["metadata"])}


def _plan(price: Price) -> dict[str, Any]:
    return {
        "id": price.pk,
        "object": "plan",
        "active": price.active,
        "amount": price.unit_amount,
        "amount_decimal": decimal_string(price.unit_amount_decimal),
        "billing_scheme": price.billing_scheme,
        "created": ts(price.created),
        "currency": price.currency,
        "interval": price.recurring_interval,
        "interval_count": price.recurring_interval_count,
        "livemode": price.livemode,
        "metadata": dict(price.metadata),
        "meter": price.recurring_meter_id,
        "nickname": price.nickname,
        "product": price.product_id,
        "tiers_mode": price.tiers_mode,
        "transform_usage": (
            {
                "divide_by": price.transform_quantity_divide_by,
                "round": price.transform_quantity_round,
            }
            if price.transform_quantity_divide_by
            else None
        ),
        "trial_period_days": price.recurring_trial_period_days,
        "usage_type": price.recurring_usage_type,
    }


def _pricing(price: Price | None, unit_amount_decimal) -> dict[str, Any]:
    return {
        "type": "price_details",
        "price_details": (
            {"price": price.pk, "product": price.product_id} if price else None
        ),
        "unit_amount_decimal": decimal_string(unit_amount_decimal),
    }


def _quantity(value) -> tuple[int | None, str | None]:
    if value is None:
        return None, None
    return int(value), decimal_string(value)
