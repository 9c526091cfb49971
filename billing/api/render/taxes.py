"""Tax rates and tax ids in Stripe's shapes; rate lists as objects embed them."""

from __future__ import annotations

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


def tax_rate_objects(ids: Sequence[str] | None) -> list[dict[str, Any]]:
    """The rates ``ids`` as objects, in order (a query only when there are any)."""
    if not ids:
        return []
    found = TaxRate._base_manager.in_bulk(list(ids))
    return [tax_rate(found[rate_id]) for rate_id in ids if rate_id in found]


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
