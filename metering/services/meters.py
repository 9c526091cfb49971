"""Meters: create, rename, deactivate, reactivate (events ``billing.meter.*``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from core.errors import InvalidRequest, InvalidState
from core.modes import default_livemode
from core.services.events import event_emit, event_emit_updated, snapshot
from metering.models import Meter


def _event_name_taken(event_name: str) -> InvalidRequest:
    return InvalidRequest(
        f"An active meter with event_name '{event_name}' already exists; an event "
        "name maps to a single active meter.",
        param="event_name",
        code="resource_already_exists",
    )


@transaction.atomic
def meter_create(
    *,
    display_name: str,
    event_name: str,
    formula: str,
    customer_payload_key: str = "stripe_customer_id",
    value_payload_key: str = "value",
    event_time_window: str | None = None,
    dimension_payload_keys: list[str] | None = None,
    unique_payload_key: str | None = None,
    now: datetime,
    livemode: bool | None = None,
) -> Meter:
    """Create an active meter; its event name must not belong to another active one."""
    if customer_payload_key == value_payload_key:
        raise InvalidRequest(
            "The customer and value payload keys must differ.",
            param="value_settings[event_payload_key]",
        )
    dimension_payload_keys = list(dimension_payload_keys or [])
    _check_dimensions(dimension_payload_keys, customer_payload_key, value_payload_key)
    _check_aggregation(
        formula, event_time_window, dimension_payload_keys, unique_payload_key
    )
    meter = Meter(
        display_name=display_name,
        event_name=event_name,
        formula=formula,
        customer_payload_key=customer_payload_key,
        value_payload_key=value_payload_key,
        event_time_window=event_time_window,
        dimension_payload_keys=dimension_payload_keys,
        unique_payload_key=unique_payload_key,
        created=now,
        updated=now,
        livemode=default_livemode() if livemode is None else livemode,
    )
    try:
        with transaction.atomic():
            meter.save(force_insert=True)
    except IntegrityError:
        raise _event_name_taken(event_name) from None
    event_emit(type="billing.meter.created", instance=meter)
    return meter


# Enough for any pricing; each key adds to every event's dimension set.
MAX_DIMENSIONS = 10
_DIMENSIONS = "dimension_payload_keys"
_UNIQUE = "default_aggregation[unique_payload_key]"


def _check_dimensions(keys: list[str], customer_key: str, value_key: str) -> None:
    if len(keys) > MAX_DIMENSIONS:
        raise InvalidRequest(
            f"A meter has at most {MAX_DIMENSIONS} dimension payload keys.",
            param=_DIMENSIONS,
        )
    for index, key in enumerate(keys):
        if not isinstance(key, str) or not 0 < len(key) <= 100 or "\x00" in key:
            raise InvalidRequest(
                "Each dimension payload key must be 1 to 100 characters.",
                param=f"{_DIMENSIONS}[{index}]",
            )
        if key in (customer_key, value_key) or key in keys[:index]:
            raise InvalidRequest(
                f"The dimension payload key '{key}' repeats a key of the meter; "
                "dimension keys must differ from each other and from the customer "
                "and value keys.",
                param=f"{_DIMENSIONS}[{index}]",
            )


def _check_aggregation(
    formula: str, window: str | None, keys: list[str], unique_key: str | None
) -> None:
    """``unique_count`` counts a declared dimension; windows take sum/count/last."""
    if formula == Meter.Formula.UNIQUE_COUNT:
        if unique_key not in keys:
            raise InvalidRequest(
                "The unique_count formula counts the distinct values of one of the "
                "meter's dimension_payload_keys: name it in "
                "default_aggregation[unique_payload_key].",
                param=_UNIQUE,
            )
    elif unique_key is not None:
        raise InvalidRequest(
            "default_aggregation[unique_payload_key] is only for the unique_count "
            "formula.",
            param=_UNIQUE,
        )
    if window is not None and formula not in (
        Meter.Formula.SUM,
        Meter.Formula.COUNT,
        Meter.Formula.LAST,
    ):
        raise InvalidRequest(
            f"An event_time_window only goes with the sum, count or last formula, "
            f"not {formula}.",
            param="event_time_window",
        )


@transaction.atomic
def meter_update(*, meter: Meter, params: dict[str, Any], now: datetime) -> Meter:
    """Change what may change after creation: ``display_name``."""
    meter = Meter.objects.select_for_update().get(pk=meter.pk)
    before = snapshot(meter)
    if params.get("display_name") not in (None, meter.display_name):
        meter.display_name = params["display_name"]
        meter.updated = now
        meter.save(update_fields=["display_name", "updated"])
    event_emit_updated(type="billing.meter.updated", instance=meter, before=before)
    return meter


@transaction.atomic
def meter_deactivate(*, meter: Meter, now: datetime) -> Meter:
    """Stop the meter: new events for it are refused, prices cannot use it."""
    meter = Meter.objects.select_for_update().get(pk=meter.pk)
    if not meter.is_active:
        raise InvalidState(f"The meter {meter.id} is already inactive.")
    meter.status = Meter.Status.INACTIVE
    meter.status_transitions_deactivated_at = now
    meter.updated = now
    meter.save(update_fields=["status", "status_transitions_deactivated_at", "updated"])
    event_emit(type="billing.meter.deactivated", instance=meter)
    return meter


@transaction.atomic
def meter_reactivate(*, meter: Meter, now: datetime) -> Meter:
    """Start counting events again, unless another active meter took the event name."""
    meter = Meter.objects.select_for_update().get(pk=meter.pk)
    if meter.is_active:
        raise InvalidState(f"The meter {meter.id} is already active.")
    meter.status = Meter.Status.ACTIVE
    meter.status_transitions_deactivated_at = None
    meter.updated = now
    try:
        with transaction.atomic():
            meter.save(
                update_fields=["status", "status_transitions_deactivated_at", "updated"]
            )
    except IntegrityError:
        raise _event_name_taken(meter.event_name) from None
    event_emit(type="billing.meter.reactivated", instance=meter)
    return meter
