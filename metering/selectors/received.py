"""Reads of raw events by receipt: usage reported after a moment, the latest events,
and who has new events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    QuerySet,
    Sum,
    Value,
    When,
)

from core.models import Customer
from metering.models import Meter, MeterEvent, MeterEventAdjustment, MeterUsageRollup
from metering.selectors.periods import unique_of
from metering.usage import (
    ZERO,
    RawEvent,
    cells_from_events,
    usage_of,
)


def meter_usage_received_after(
    *,
    meter: Meter,
    after_event_ids: list[int],
    customers: QuerySet | list[str],
    received_from: datetime | None,
    received_until: datetime,
) -> dict[str, dict[int, Decimal]]:
    """Usage per customer of the events received after each of ``after_event_ids``.

    An event's id is its order of receipt, so the events after id ``W`` are those
    reported after ``W`` was the latest one: alerts count only usage reported after
    they were created. Returns ``{customer_id: {W: usage}}`` for the customers (ids,
    or a queryset of ids) with such events; cancelled events and events received
    (``created``) after ``received_until`` do not count. ``received_from``, not
    later than any counted event's ``created``, narrows the read to the pages the
    BRIN index on ``created`` names.

    One query whatever the number of boundaries: for sum and count meters the
    database groups events by customer and by the last boundary they pass, and the
    partial sums add up from the newest boundary down; other meters read events.
    """
    bounds = sorted(set(after_event_ids))
    if not bounds:
        return {}
    events = MeterEvent.objects.filter(
        meter=meter,
        customer_id__in=customers,
        id__gt=bounds[0],
        created__lte=received_until,
        cancellation__isnull=True,
    )
    if received_from is not None:
        events = events.filter(created__gte=received_from)
    if meter.event_time_window is None and meter.formula in (
        Meter.Formula.SUM,
        Meter.Formula.COUNT,
    ):
        return _received_partials(events, bounds, meter.formula)
    # Other formulas (last, max, unique_count, windows): computed exactly from
    # the events, per boundary.
    counted = unique_of(meter)
    by_customer: dict[str, list[RawEvent]] = {}
    for customer_id, seq, timestamp, value, dimension_set in events.values_list(
        "customer_id", "id", "timestamp", "value", "dimension_set"
    ):
        by_customer.setdefault(customer_id, []).append(
            RawEvent(seq, timestamp, value, dimension_set)
        )
    return {
        customer_id: {
            bound: usage_of(
                formula=meter.formula,
                window=meter.event_time_window,
                cells=cells_from_events(e for e in raw if e.seq > bound),
                unique_of=counted,
            )
            for bound in bounds
        }
        for customer_id, raw in by_customer.items()
    }


def _received_partials(
    events: QuerySet, bounds: list[int], formula: str
) -> dict[str, dict[int, Decimal]]:
    # Slot i holds the events with bounds[i] < id <= bounds[i + 1] (the last: open).
    slot = Case(
        *(
            When(id__gt=bound, then=Value(index))
            for index, bound in reversed(list(enumerate(bounds)))
        ),
        default=Value(0),
        output_field=IntegerField(),
    )
    partials: dict[str, list[Decimal]] = {}
    for customer_id, index, total, count in (
        events.annotate(slot=slot)
        .values("customer_id", "slot")
        .annotate(total=Sum("value"), count=Count("id"))
        .values_list("customer_id", "slot", "total", "count")
    ):
        partial = partials.setdefault(customer_id, [ZERO] * len(bounds))
        partial[index] = Decimal(count) if formula == Meter.Formula.COUNT else total
    usage: dict[str, dict[int, Decimal]] = {}
    for customer_id, partial in partials.items():
        running, by_bound = ZERO, {}
        for index in reversed(range(len(bounds))):
            running += partial[index]
            by_bound[bounds[index]] = running
        usage[customer_id] = by_bound
    return usage


def meter_events_latest(
    *, meter: Meter, customer_id: str | None = None, limit: int = 25
) -> list[MeterEvent]:
    """The latest events by timestamp (cancelled ones flagged), newest first.

    The newest rollup hours say which customers to read and from when, so the
    ``(customer, timestamp)`` index serves this even on a huge table. Of those
    hours' rollup rows, the ``limit`` latest by ``last_timestamp`` hold every
    event of the answer: a row ranked below them has ``limit`` rows above it,
    each with an event at least as late as any of its own. So at most ``limit``
    customers are read, not every customer active in the newest hours (plus
    those with a cancelled event there: rollups leave cancelled events out).
    """
    rollups = MeterUsageRollup.objects.filter(meter=meter)
    if customer_id is not None:
        rollups = rollups.filter(customer_id=customer_id)
    hours = list(rollups.order_by("-bucket").values_list("bucket", flat=True)[:limit])
    if not hours:
        return []
    since = hours[-1]
    customers = (
        rollups.filter(bucket__gte=since, last_seq__isnull=False)
        .order_by("-last_timestamp")
        .values_list("customer_id", flat=True)[:limit]
    )
    cancelled = MeterEventAdjustment.objects.filter(
        event__meter=meter, event__timestamp__gte=since
    )
    if customer_id is not None:
        cancelled = cancelled.filter(event__customer_id=customer_id)
    events = (
        MeterEvent.objects.filter(
            meter=meter,
            customer_id__in={
                *customers,
                *cancelled.values_list("event__customer_id", flat=True),
            },
            timestamp__gte=since,
        )
        .select_related("customer", "meter")
        .annotate(
            cancelled=Exists(MeterEventAdjustment.objects.filter(event=OuterRef("pk")))
        )
        .order_by("-timestamp", "-id")
    )
    return list(events[:limit])


def customers_with_events_received(
    *, after_id: int, through_id: int
) -> list[tuple[str, str | None]]:
    """(customer id, test clock id) of the customers with events in the id range
    ``(after_id, through_id]``, in customer order: whose usage just changed."""
    customers = (
        MeterEvent.objects.filter(id__gt=after_id, id__lte=through_id)
        .values_list("customer_id", flat=True)
        .distinct()
    )
    return list(
        Customer.objects.filter(pk__in=customers)
        .order_by("pk")
        .values_list("pk", "test_clock_id")
    )
