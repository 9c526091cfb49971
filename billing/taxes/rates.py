"""Tax rates: create, update, archive; the ids other objects name, checked.

Stripe lets only display fields change after creation. Tally also lets
``percentage`` and ``inclusive`` change until a finalized invoice has used the
rate (a typo caught before the first invoice); from then on those edits are a
400 ``tax_rate_in_use``. The finalization marks the rates it uses
(``tax_rates_mark_used``) before it reads them, under the same row lock an edit
takes, so an edit and a first use never interleave: either the edit commits
first and the invoice uses the new percentage, or the invoice does and the edit
is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from billing.models import TaxRate
from billing.services.events import before, emit, emit_updated
from billing.taxes.calculate import RateSpec
from core.errors import InvalidRequest, ResourceMissing
from core.metadata import metadata_merge

# Per subscription, item, invoice or invoice item, as Stripe.
MAX_RATES = 10
_LABELS = ("description", "jurisdiction", "country", "state", "tax_type")
_DISPLAY_FIELDS = ("display_name", "active", *_LABELS)
_FROZEN_AFTER_USE = ("percentage", "inclusive")


def _check_percentage(value: Decimal) -> None:
    if not Decimal(0) <= value <= Decimal(100):
        raise InvalidRequest(
            "The percentage must be between 0 and 100.", param="percentage"
        )


@transaction.atomic
def tax_rate_create(*, params: dict[str, Any], now: datetime) -> TaxRate:
    """Create a tax rate (``tax_rate.created``)."""
    _check_percentage(params["percentage"])
    rate = TaxRate(
        display_name=params["display_name"],
        percentage=params["percentage"],
        inclusive=params["inclusive"],
        active=params.get("active", True),
        metadata=params.get("metadata") or {},
        created=now,
    )
    for field in _LABELS:
        if field in params:
            setattr(rate, field, params[field])
    rate.save(force_insert=True)
    emit("tax_rate.created", rate)
    return rate


@transaction.atomic
def tax_rate_update(*, rate: TaxRate, params: dict[str, Any]) -> TaxRate:
    """Change display fields; percentage and inclusive only until first used."""
    rate = TaxRate.objects.select_for_update().get(pk=rate.pk)
    was = before(rate)
    for field in _FROZEN_AFTER_USE:
        if field in params and params[field] != getattr(rate, field):
            if rate.used_at is not None:
                raise InvalidRequest(
                    f"The tax rate {rate.pk} has been used on a finalized invoice: "
                    f"its {field} can no longer change. Archive it (active=false) "
                    "and create a new one.",
                    param=field,
                    code="tax_rate_in_use",
                )
            if field == "percentage":
                _check_percentage(params[field])
            setattr(rate, field, params[field])
    for field in _DISPLAY_FIELDS:
        if field in params:
            value = params[field]
            if field == "display_name" and not value:
                raise InvalidRequest("display_name cannot be empty.", param=field)
            setattr(rate, field, value)
    if "metadata" in params:
        rate.metadata = metadata_merge(rate.metadata, params["metadata"])
    rate.save()
    emit_updated("tax_rate.updated", rate, was)
    return rate


def tax_rate_list(*, filters: dict[str, Any]) -> QuerySet[TaxRate]:
    """Tax rates, filtered by ``active`` and ``inclusive`` when given."""
    rows = TaxRate.objects.all()
    for field in ("active", "inclusive"):
        if filters.get(field) is not None:
            rows = rows.filter(**{field: filters[field]})
    return rows


def tax_rates_resolve(
    ids: Sequence[str] | None, *, param: str, keep: Iterable[str] = ()
) -> list[str]:
    """Check the tax rate ids a request applies; returns them in order.

    Each must exist (in the request's mode) and be active, except those in
    ``keep``, already applied (an archived rate keeps working where it is set).
    None or an empty list clears: ``[]``.
    """
    ids = list(ids or [])
    if len(ids) > MAX_RATES:
        raise InvalidRequest(
            f"At most {MAX_RATES} tax rates can be applied.", param=param
        )
    if len(set(ids)) != len(ids):
        raise InvalidRequest("A tax rate is listed twice.", param=param)
    found = TaxRate.objects.in_bulk(ids)
    kept = set(keep)
    for index, rate_id in enumerate(ids):
        rate = found.get(rate_id)
        if rate is None:
            raise ResourceMissing.for_id("tax_rate", rate_id, param=f"{param}[{index}]")
        if not rate.active and rate_id not in kept:
            raise InvalidRequest(
                f"The tax rate {rate_id} is archived (active=false) and cannot be "
                "applied.",
                param=f"{param}[{index}]",
            )
    return ids


def tax_rate_specs(ids: Iterable[str]) -> tuple[RateSpec, ...]:
    """The arithmetic's view of the rates ``ids`` (one query; none if empty)."""
    ids = set(ids)
    if not ids:
        return ()
    rows = TaxRate._base_manager.filter(pk__in=ids).values_list(
        "id", "percentage", "inclusive"
    )
    return tuple(RateSpec(*row) for row in rows)


def tax_rates_mark_used(ids: Iterable[str], *, now: datetime) -> None:
    """Freeze the percentage and ``inclusive`` of rates a finalization uses.

    Only rates used for the first time are written (and locked, for as long as
    the finalization runs): an edit holding one waits, or is refused after.
    """
    ids = sorted(set(ids))
    if ids:
        TaxRate._base_manager.filter(pk__in=ids, used_at__isnull=True).update(
            used_at=now
        )
