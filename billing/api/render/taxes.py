"""Tax rates and tax ids in Stripe's shapes; rate lists as objects embed them."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from billing.api.render.parts import ts
from billing.models import TaxRate


def percentage_number(value: Decimal) -> int | float:
    """A percentage as Stripe's JSON number: 20, 8.875."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def tax_rate(rate) -> dict[str, Any]:
    percentage = percentage_number(rate.percentage)
    return {
        "id": rate.pk,
        "object": "tax_rate",
        "active": rate.active,
        "country": rate.country,
        "created": ts(rate.created),
        "description": rate.description,
        "display_name": rate.display_name,
        "effective_percentage": percentage,
        "flat_amount": None,
        "inclusive": rate.inclusive,
        "jurisdiction": rate.jurisdiction,
        "jurisdiction_level": None,
        "livemode": rate.livemode,
        "metadata": dict(rate.metadata),
        "percentage": percentage,
        "rate_type": None,
        "state": rate.state,
        "tax_type": rate.tax_type,
    }


# Rates embedded in invoices and subscriptions as they render (events of a period
# close render thousands): each row is read once per few seconds, not once per
# object. An edit in this process forgets them at once (``forget_tax_rates``);
# another process's edit shows here within the interval. Only rendering reads
# them: the tax step reads rates fresh (``billing.taxes.rates.tax_rate_specs``).
_CACHE_SECONDS = 2.0
_CACHE_SIZE = 10_000
_cache: dict[str, tuple[float, TaxRate]] = {}
_lock = threading.Lock()


def tax_rate_objects(ids: Sequence[str] | None) -> list[dict[str, Any]]:
    """The rates ``ids`` as objects, in order (a query only for rates not read
    in the last moments)."""
    if not ids:
        return []
    now = time.monotonic()
    rows: dict[str, TaxRate] = {}
    for rate_id in ids:
        cached = _cache.get(rate_id)
        if cached is not None and now - cached[0] < _CACHE_SECONDS:
            rows[rate_id] = cached[1]
    missing = [rate_id for rate_id in ids if rate_id not in rows]
    if missing:
        found = TaxRate._base_manager.in_bulk(missing)
        with _lock:
            if len(_cache) + len(found) > _CACHE_SIZE:
                _cache.clear()
            _cache.update((rate_id, (now, rate)) for rate_id, rate in found.items())
        rows.update(found)
    return [tax_rate(rows[rate_id]) for rate_id in ids if rate_id in rows]


def forget_tax_rates(**_kwargs) -> None:
    """Forget the rates read (a rate was saved or deleted in this process)."""
    with _lock:
        _cache.clear()


def tax_id(obj) -> dict[str, Any]:
    return {
        "id": obj.pk,
        "object": "tax_id",
        "country": obj.country,
        "created": ts(obj.created),
        "customer": obj.customer_id,
        "customer_account": None,
        "livemode": obj.livemode,
        "owner": {
            "type": "customer",
            "customer": obj.customer_id,
            "account": None,
            "application": None,
            "customer_account": None,
        },
        "type": obj.type,
        "value": obj.value,
        "verification": {
            "status": obj.verification_status,
            "verified_address": obj.verified_address,
            "verified_name": obj.verified_name,
        },
    }
