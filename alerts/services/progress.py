"""Counting usage towards alerts incrementally, as usage arrives.

Re-reading every event reported since an alert was created would cost more each
run as the alert ages. Instead each run reads only the meter events received
since the last run, in receipt order (their ids), and adds them to the progress of
each (alert, customer): one grouped query over the new events, whatever the number
of meters, alerts and customers. The cursor row is locked for the run and moved in
the same transaction as the progress, so every event counts exactly once even with
two workers.

A run counts up to the events' watermark (``metering.storage.watermark``): the
highest id up to which every ingestion transaction has ended. Transactions commit
in any order, so a cursor that went to the highest visible id could step over an
event still in flight; the watermark cannot, and it needs no waiting lag.

A cancellation takes its event back out of the progress if a run counted it
(``alert_progress_cancel``, called in the cancel's transaction, under the cursor's
lock); a run that counts the event after its cancellation leaves it out. Only sum
and count meters add up like this: alerts on ``last`` and ``event_time_window``
meters, and customers on test clocks, are evaluated by reading the events since
the alert's creation.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)

from alerts.models import Alert, AlertCursor, AlertProgress, AlertTrigger
from core.models import Customer
from metering.models import Meter, MeterEvent, MeterEventAdjustment

# Meters whose usage adds up event by event (sum and count, no time window).
# Alerts on other meters (last, max, unique_count) are evaluated exactly from
# the events received since the alert's creation (``alerts.services.evaluation``).
ADDITIVE = Q(meter__event_time_window__isnull=True) & Q(
    meter__formula__in=[Meter.Formula.SUM, Meter.Formula.COUNT]
)
_BATCH = 1000
# A run counts at most this many event ids; a backlog (a first run on a long
# history, a job that was down) is caught up over the next runs.
MAX_IDS_PER_RUN = 5_000_000


def counted_alerts(*, meter_id: str | None = None) -> list[Alert]:
    """Alerts whose progress the job keeps: additive meters, not archived, real
    time, not fired for good (inactive ones count too, to fire once activated)."""
    fired = AlertTrigger.objects.filter(
        alert=OuterRef("pk"), customer=OuterRef("customer")
    )
    alerts = Alert.objects.filter(ADDITIVE, alert_type=Alert.AlertType.USAGE_THRESHOLD)
    if meter_id is not None:
        alerts = alerts.filter(meter_id=meter_id)
    return list(
        alerts.exclude(status=Alert.Status.ARCHIVED)
        .exclude(
            Q(customer__isnull=False)
            & (Exists(fired) | Q(customer__test_clock__isnull=False))
        )
        .select_related("meter")
        .order_by("pk")
    )


def _new_usage(alerts, start: int, high: int):
    """Rows (meter, customer, slot, sum, count) of the events in ``(start, high]``.

    Slots split the range at the alerts' creations that fall inside it.
    """
    bounds = sorted({a.after_event_id for a in alerts if start < a.after_event_id})
    slot = Case(
        *(
            When(id__gt=bound, then=Value(index + 1))
            for index, bound in reversed(list(enumerate(bounds)))
        ),
        default=Value(0),
        output_field=IntegerField(),
    )
    cancelled = MeterEventAdjustment.objects.filter(event=OuterRef("pk"))
    rows = (
        MeterEvent.objects.filter(
            id__gt=start,
            id__lte=high,
            meter_id__in={alert.meter_id for alert in alerts},
        )
        .exclude(customer_id__in=_clock_customers())
        .exclude(Exists(cancelled))
        .annotate(slot=slot)
        .values("meter_id", "customer_id", "slot")
        .annotate(total=Sum("value"), count=Count("id"))
        .values_list("meter_id", "customer_id", "slot", "total", "count")
    )
    return [start, *bounds], rows


def _clock_customers():
    return Customer.objects.filter(test_clock__isnull=False).values("pk")


def _amount(alert: Alert, total, count) -> Decimal:
    return Decimal(count) if alert.meter.formula == Meter.Formula.COUNT else total


class _Watchers:
    """The alerts watching each (meter, customer): everyone's and the customer's."""

    def __init__(self, alerts: list[Alert]) -> None:
        self._everyone: dict[str, list[Alert]] = defaultdict(list)
        self._own: dict[tuple[str, str], list[Alert]] = defaultdict(list)
        for alert in alerts:
            if alert.customer_id is None:
                self._everyone[alert.meter_id].append(alert)
            else:
                self._own[(alert.meter_id, alert.customer_id)].append(alert)

    def of(self, meter_id: str, customer_id: str, first_id: int):
        """Alerts for which events from ``first_id`` on count (created before)."""
        for alert in self._everyone.get(meter_id, ()):
            if first_id > alert.after_event_id:
                yield alert
        for alert in self._own.get((meter_id, customer_id), ()):
            if first_id > alert.after_event_id:
                yield alert


def _deltas(alerts, starts, rows, cancels) -> dict[tuple[str, str], Decimal]:
    watchers = _Watchers(alerts)
    deltas: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for meter_id, customer_id, slot, total, count in rows:
        # Every event of the slot has an id above the slot's lower bound.
        for alert in watchers.of(meter_id, customer_id, starts[slot] + 1):
            deltas[(alert.pk, customer_id)] += _amount(alert, total, count)
    for meter_id, customer_id, event_id, value in cancels:
        for alert in watchers.of(meter_id, customer_id, event_id):
            deltas[(alert.pk, customer_id)] -= _amount(alert, value, 1)
    return deltas


def _upsert_sql(rows: int) -> str:
    progress, alert = AlertProgress._meta.db_table, Alert._meta.db_table
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * rows)
    return (
        f"INSERT INTO {progress} (alert_id, customer_id, value, reached, updated)"
        f" VALUES {values} ON CONFLICT (alert_id, customer_id) DO UPDATE SET"
        f" value = {progress}.value + excluded.value,"
        f" reached = {progress}.value + excluded.value"
        f" >= (SELECT gte FROM {alert} WHERE id = excluded.alert_id),"
        " updated = excluded.updated"
    )


def _apply(alerts, deltas, now: datetime) -> int:
    """Add the deltas to the progress rows; pairs that fired already are skipped.

    One upsert per thousand pairs: the database adds each delta to the stored value.
    """
    deltas = {key: value for key, value in deltas.items() if value}
    if not deltas:
        return 0
    fired = set(
        AlertTrigger.objects.filter(
            alert_id__in={alert_id for alert_id, _ in deltas},
            customer_id__in={customer_id for _, customer_id in deltas},
        ).values_list("alert_id", "customer_id")
    )
    gte = {alert.pk: alert.gte for alert in alerts}
    stamp = connection.ops.adapt_datetimefield_value(now)
    rows = [
        (alert_id, customer_id, delta, delta >= gte[alert_id], stamp)
        for (alert_id, customer_id), delta in sorted(deltas.items())
        if (alert_id, customer_id) not in fired
    ]
    with connection.cursor() as cursor:
        for offset in range(0, len(rows), _BATCH):
            chunk = rows[offset : offset + _BATCH]
            cursor.execute(
                _upsert_sql(len(chunk)), [value for row in chunk for value in row]
            )
    return len(rows)


def _count_in_sql(*, start: int, through: int, now: datetime) -> int:
    """Add the events in ``(start, through]`` to the progress in one statement.

    PostgreSQL joins the new events to the alerts watching them (an event counts
    for an alert created before it was received: a higher id than the alert's
    ``after_event_id``), sums per (alert, customer) and upserts the sums: the same
    rules as ``counted_alerts``, ``_new_usage`` and ``_apply``, with no alert
    loaded into Python, whatever their number.
    """
    table = {
        name: model._meta.db_table
        for name, model in (
            ("progress", AlertProgress),
            ("alert", Alert),
            ("trigger", AlertTrigger),
            ("meter", Meter),
            ("event", MeterEvent),
            ("adjustment", MeterEventAdjustment),
            ("customer", Customer),
        )
    }
    sql = f"""
        WITH new AS (
            SELECT e.id, e.meter_id, e.customer_id,
                CASE WHEN m.formula = %(count)s THEN 1 ELSE e.value END AS amount
            FROM {table["event"]} e
            JOIN {table["meter"]} m ON m.id = e.meter_id
            JOIN {table["customer"]} c ON c.id = e.customer_id
            WHERE e.id > %(start)s AND e.id <= %(through)s
                AND m.event_time_window IS NULL AND m.formula IN (%(sum)s, %(count)s)
                AND c.test_clock_id IS NULL
                AND NOT EXISTS (SELECT 1 FROM {table["adjustment"]} x
                    WHERE x.event_id = e.id)
        ), watched AS (
            -- Two equi-joins rather than one with an OR: both can hash.
            SELECT a.id AS alert_id, a.gte, n.customer_id, n.amount
            FROM new n JOIN {table["alert"]} a
                ON a.meter_id = n.meter_id AND a.customer_id = n.customer_id
            WHERE n.id > a.after_event_id
                AND a.alert_type = %(usage)s AND a.status <> %(archived)s
            UNION ALL
            SELECT a.id, a.gte, n.customer_id, n.amount
            FROM new n JOIN {table["alert"]} a
                ON a.meter_id = n.meter_id AND a.customer_id IS NULL
            WHERE n.id > a.after_event_id
                AND a.alert_type = %(usage)s AND a.status <> %(archived)s
        )
        INSERT INTO {table["progress"]} (alert_id, customer_id, value, reached, updated)
        SELECT d.alert_id, d.customer_id, d.delta, d.delta >= d.gte, %(now)s
        FROM (
            SELECT w.alert_id, w.customer_id, w.gte, SUM(w.amount) AS delta
            FROM watched w
            WHERE NOT EXISTS (SELECT 1 FROM {table["trigger"]} t
                WHERE t.alert_id = w.alert_id AND t.customer_id = w.customer_id)
            GROUP BY w.alert_id, w.customer_id, w.gte
        ) d
        WHERE d.delta <> 0
        ORDER BY d.alert_id, d.customer_id
        ON CONFLICT (alert_id, customer_id) DO UPDATE SET
            value = {table["progress"]}.value + excluded.value,
            reached = {table["progress"]}.value + excluded.value
                >= (SELECT gte FROM {table["alert"]} WHERE id = excluded.alert_id),
            updated = excluded.updated
    """
    params = {
        "now": now,
        "start": start,
        "through": through,
        "sum": Meter.Formula.SUM,
        "count": Meter.Formula.COUNT,
        "usage": Alert.AlertType.USAGE_THRESHOLD,
        "archived": Alert.Status.ARCHIVED,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _oldest_counted_alert() -> int | None:
    """The lowest ``after_event_id`` of the alerts whose progress is kept."""
    return (
        Alert.objects.filter(ADDITIVE, alert_type=Alert.AlertType.USAGE_THRESHOLD)
        .exclude(status=Alert.Status.ARCHIVED)
        .aggregate(low=Min("after_event_id"))["low"]
    )


@transaction.atomic
def alert_usage_count(*, now: datetime, settled_through: int) -> tuple[int, int]:
    """Add the events received since the last run, up to ``settled_through`` (the
    watermark), to the alerts' progress.

    Returns the range of event ids read, ``(after, through]``: the events of the
    customers whose usage changed.
    """
    cursor, _ = AlertCursor.objects.select_for_update().get_or_create(pk=1)
    after = cursor.event_id
    ids = MeterEvent.objects.filter(id__gt=after, id__lte=settled_through).aggregate(
        low=Min("id"), high=Max("id")
    )
    if ids["high"] is None:
        through = max(after, settled_through)
    else:
        through = min(settled_through, ids["low"] - 1 + MAX_IDS_PER_RUN)
    if connection.vendor == "postgresql":
        # Events up to the oldest alert's creation count for no alert.
        oldest = _oldest_counted_alert()
        start = max(after, oldest or 0)
        if oldest is not None and through > start:
            _count_in_sql(start=start, through=through, now=now)
    else:  # the same in Python (SQLite)
        alerts = counted_alerts()
        start = max(after, min((alert.after_event_id for alert in alerts), default=0))
        if alerts and through > start:
            starts, rows = _new_usage(alerts, start, through)
            _apply(alerts, _deltas(alerts, starts, rows, []), now)
    cursor.event_id = through
    cursor.save(update_fields=["event_id"])
    return after, through


def alert_progress_cancel(*, event: MeterEvent, now: datetime) -> None:
    """Take a cancelled event out of the progress a run counted it in.

    Runs in the cancel's transaction. The cursor's lock orders it with the runs:
    an event past the cursor is not counted yet, and the run that counts it will
    see the cancellation and leave it out.
    """
    if event.customer.test_clock_id is not None:
        return
    cursor, _ = AlertCursor.objects.select_for_update().get_or_create(pk=1)
    if event.id > cursor.event_id:
        return
    alerts = counted_alerts(meter_id=event.meter_id)
    cancel = [(event.meter_id, event.customer_id, event.id, event.value)]
    _apply(alerts, _deltas(alerts, [0], [], cancel), now)


def progress_reached() -> list[AlertProgress]:
    """Progress rows over their alert's threshold, of active alerts, in order."""
    return list(
        AlertProgress.objects.filter(reached=True, alert__status=Alert.Status.ACTIVE)
        .select_related("alert")
        .order_by("alert_id", "customer_id")
    )
