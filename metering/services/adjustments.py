"""Cancel a meter event: it stops counting, rollup fixed in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from core import clock
from metering import errors, signals, storage
from metering.models import MeterEvent, MeterEventAdjustment, MeterUsageRollup
from metering.services.validation import MAX_EVENT_NAME, MAX_IDENTIFIER, require_text
from metering.usage import HOUR, RawEvent, cells_from_events, floor_hour


def _cancel_target(event_name: Any, identifier: Any) -> MeterEvent:
    event_name = require_text(event_name, "event_name", MAX_EVENT_NAME)
    identifier = require_text(identifier, "cancel[identifier]", MAX_IDENTIFIER)
    event = storage.events_with_identifier(
        MeterEvent.objects.select_related("customer__test_clock"),
        event_name=event_name,
        identifier=identifier,
    ).first()
    if event is None:
        raise errors.MeterEventError(
            f"No meter event with identifier '{identifier}' was found for event_name "
            f"'{event_name}'.",
            param="cancel[identifier]",
            code=errors.CANCEL_NOT_FOUND,
        )
    return event


def _recount_hour(rollup: MeterUsageRollup) -> None:
    """Recompute ``last_*``, ``latest_*`` and ``value_max`` from the hour's events
    (of the rollup's dimension set) still counting."""
    events = MeterEvent.objects.filter(
        customer_id=rollup.customer_id,
        meter_id=rollup.meter_id,
        timestamp__gte=rollup.bucket,
        timestamp__lt=rollup.bucket + HOUR,
        dimension_set=rollup.dimension_set,
        cancellation__isnull=True,
    ).values_list("id", "timestamp", "value")
    cells = cells_from_events(
        RawEvent(seq=seq, timestamp=timestamp, value=value)
        for seq, timestamp, value in events
    )
    cell = cells[0] if cells else None
    rollup.last_timestamp, rollup.last_seq, rollup.last_value = (
        cell.last if cell else (None, None, None)
    )
    rollup.latest_seq, rollup.latest_value = cell.latest if cell else (None, None)
    rollup.value_max = cell.maximum if cell else None


@transaction.atomic
def meter_event_cancel(
    *, event_name: Any, identifier: Any, now: datetime
) -> MeterEventAdjustment:
    """Cancel the event ``identifier`` of ``event_name``: it no longer counts.

    Usage already billed on a finalized invoice stays billed; the rollup of the
    event's hour is corrected at once. Cancelling an event twice is refused.
    """
    event = _cancel_target(event_name, identifier)
    try:
        with transaction.atomic():
            adjustment = MeterEventAdjustment.objects.create(
                event=event,
                event_name=event.event_name,
                identifier=event.identifier,
                created=clock.now_for_customer(event.customer)
                if event.customer.test_clock_id
                else now,
                livemode=event.livemode,
            )
    except IntegrityError:
        raise errors.MeterEventError(
            f"The meter event '{event.identifier}' is already canceled.",
            param="cancel[identifier]",
            code=errors.ALREADY_CANCELED,
        ) from None
    rollup = _merged_hour(event)
    rollup.value_sum -= event.value
    rollup.event_count -= 1
    if event.id in (rollup.last_seq, rollup.latest_seq) or (
        rollup.value_max is not None and event.value >= rollup.value_max
    ):
        _recount_hour(rollup)
    rollup.save()
    signals.meter_event_cancelled.send(sender=None, event=event, now=adjustment.created)
    signals.usage_recorded_on_commit()
    return adjustment


def _merged_hour(event: MeterEvent) -> MeterUsageRollup:
    """The rollup of the event's hour, its shards (if several) merged into one row.

    The rows are locked in shard order, as ingestion's upserts lock them.
    """
    first, *others = (
        MeterUsageRollup.objects.select_for_update()
        .filter(
            meter_id=event.meter_id,
            customer_id=event.customer_id,
            bucket=floor_hour(event.timestamp),
            dimension_set=event.dimension_set,
        )
        .order_by("shard")
    )
    for other in others:
        first.value_sum += other.value_sum
        first.event_count += other.event_count
        if other.last_seq is not None and (
            first.last_seq is None
            or (other.last_timestamp, other.last_seq)
            > (first.last_timestamp, first.last_seq)
        ):
            first.last_timestamp = other.last_timestamp
            first.last_seq, first.last_value = other.last_seq, other.last_value
        if other.latest_seq is not None and (
            first.latest_seq is None or other.latest_seq > first.latest_seq
        ):
            first.latest_seq, first.latest_value = other.latest_seq, other.latest_value
        if other.value_max is not None and (
            first.value_max is None or other.value_max > first.value_max
        ):
            first.value_max = other.value_max
    if others:
        MeterUsageRollup.objects.filter(pk__in=[other.pk for other in others]).delete()
    return first
