"""Counting usage towards alerts incrementally, as usage arrives.

Re-reading every event reported since an alert was created would cost more each
run as the alert ages. Instead each run reads only the meter events received
since the last run, in receipt order (their ids), and adds them to one
``UsageCounter`` per (meter, customer): one grouped statement over the new events,
whatever the number of alerts watching each pair. An alert's progress for a
customer is the pair's counter minus the ``UsageMark`` taken when the cursor
passed the alert's creation (its ``after_event_id``); alerts created at the same
point share the mark. The cursor row is locked for the run and moved in the same
transaction as the counters, so every event counts exactly once even with two
workers. A pass then finds the crossed thresholds with one statement that returns
only them (``progress_crossed``): nothing is written per alert.

A run counts up to the events' watermark (``metering.storage.watermark``): the
highest id up to which every ingestion transaction has ended. Transactions commit
in any order, so a cursor that went to the highest visible id could step over an
event still in flight; the watermark cannot, and it needs no waiting lag.

A cancellation takes its event back out of the counter if a run counted it, and
out of the marks taken after it (``alert_progress_cancel``, in the cancel's
transaction, under the cursor's lock); a run that counts the event after its
cancellation leaves it out. Only sum and count meters add up like this: alerts on
``last`` and ``event_time_window`` meters, and customers on test clocks, are
evaluated by reading the events since the alert's creation.

The statements are plain SQL that PostgreSQL and SQLite both run.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Exists, Max, Min, OuterRef, Q

from alerts.models import Alert, AlertCursor, AlertTrigger, UsageCounter, UsageMark
from core.models import Customer
from metering.models import Meter, MeterEvent, MeterEventAdjustment

# Meters whose usage adds up event by event (sum and count, no time window).
# Alerts on other meters (last, max, unique_count) are evaluated exactly from
# the events received since the alert's creation (``alerts.services.evaluation``).
ADDITIVE = Q(meter__event_time_window__isnull=True) & Q(
    meter__formula__in=[Meter.Formula.SUM, Meter.Formula.COUNT]
)
# A run counts at most this many event ids; a backlog (a first run on a long
# history, a job that was down) is caught up over the next runs.
MAX_IDS_PER_RUN = 5_000_000

_TABLES = {
    "counter": UsageCounter,
    "mark": UsageMark,
    "alert": Alert,
    "trigger": AlertTrigger,
    "meter": Meter,
    "event": MeterEvent,
    "adjustment": MeterEventAdjustment,
    "customer": Customer,
}


def _sql(template: str, meters: int = 0) -> str:
    """The statement with its tables, and ``meters`` placeholders for the counted
    meters (``%(meter0)s``...; ``_meter_params`` gives their values)."""
    tables = {k: m._meta.db_table for k, m in _TABLES.items()}
    places = ", ".join(f"%(meter{index})s" for index in range(meters)) or "NULL"
    return template.format(**tables, meters=places)


def _meter_params(meters: list[str]) -> dict:
    return {f"meter{index}": meter for index, meter in enumerate(meters)}


def _params(**more) -> dict:
    return {
        "sum": Meter.Formula.SUM,
        "count": Meter.Formula.COUNT,
        "usage": Alert.AlertType.USAGE_THRESHOLD,
        "archived": Alert.Status.ARCHIVED,
        "active": Alert.Status.ACTIVE,
        **more,
    }


def _execute(template: str, params: dict, meters: list[str] = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(_sql(template, len(meters)), {**params, **_meter_params(meters)})
        return cursor.fetchall() if cursor.description else []


# Marks written by one run above which the planner's statistics are refreshed.
MARKS_ANALYZE = 1_000


def _marks_write(params: dict, meters: list[str]) -> None:
    """Write the marks of new alerts; after a bulk of them, refresh PostgreSQL's
    statistics of alerts and marks at once. Autovacuum would only after its
    naptime: meanwhile the crossing read, planned for a few alerts, scanned every
    alert of the meter for each mark (100,000 alerts: 26 s instead of 0.4 s)."""
    with connection.cursor() as cursor:
        cursor.execute(_sql(_MARKS, len(meters)), {**params, **_meter_params(meters)})
        if connection.vendor == "postgresql" and cursor.rowcount >= MARKS_ANALYZE:
            cursor.execute(
                f"ANALYZE {Alert._meta.db_table}, {UsageMark._meta.db_table}"
            )


# Alerts whose progress is kept: usage alerts on the counted meters (additive
# ones, ``_counted_meters``), not archived (inactive ones count too, to fire once
# activated). The meters come as parameters: a join to the meters per alert cost
# more than the rest of the statement at 100,000 alerts.
_COUNTED = """a.alert_type = %(usage)s AND a.status <> %(archived)s
    AND a.meter_id IN ({meters})"""

# The events of ids in (%(start)s, %(upto)s] that count: real-time customers,
# not cancelled, on meters with counted alerts; ``amount`` is what each adds.
_NEW = """SELECT e.id, e.meter_id, e.customer_id,
        CASE WHEN m.formula = %(count)s THEN 1 ELSE e.value END AS amount
    FROM {event} e
    JOIN {meter} m ON m.id = e.meter_id
    JOIN {customer} c ON c.id = e.customer_id
    WHERE e.id > %(start)s AND e.id <= %(upto)s AND c.test_clock_id IS NULL
        AND e.meter_id IN ({meters})
        AND NOT EXISTS (SELECT 1 FROM {adjustment} x WHERE x.event_id = e.id)"""

# Marks for the alerts created at events in [start, through]: the counter before
# this run plus the events up to the mark. Everyone's alerts take one for each
# customer with a counter or such events; a customer whose counter starts later
# counts from zero.
_MARKS = (
    """WITH fresh AS (
        SELECT DISTINCT a.meter_id, a.customer_id, a.after_event_id AS mark
        FROM {alert} a
        WHERE a.after_event_id >= %(start)s AND a.after_event_id <= %(through)s
            AND """
    + _COUNTED
    + """
    ), new AS ("""
    + _NEW
    + """
    ), pairs AS (
        SELECT meter_id, customer_id, mark FROM fresh WHERE customer_id IS NOT NULL
        UNION
        SELECT f.meter_id, k.customer_id, f.mark
        FROM fresh f JOIN {counter} k ON k.meter_id = f.meter_id
        WHERE f.customer_id IS NULL
        UNION
        SELECT f.meter_id, n.customer_id, f.mark
        FROM fresh f JOIN new n ON n.meter_id = f.meter_id
        WHERE f.customer_id IS NULL AND n.id <= f.mark
    ), partial AS (
        SELECT p.meter_id, p.customer_id, p.mark, SUM(n.amount) AS total
        FROM pairs p JOIN new n
            ON n.meter_id = p.meter_id AND n.customer_id = p.customer_id
        WHERE n.id <= p.mark GROUP BY p.meter_id, p.customer_id, p.mark
    )
    INSERT INTO {mark} (meter_id, customer_id, event_id, value)
    SELECT p.meter_id, p.customer_id, p.mark,
        COALESCE(k.value, 0) + COALESCE(d.total, 0)
    FROM pairs p
    LEFT JOIN {counter} k
        ON k.meter_id = p.meter_id AND k.customer_id = p.customer_id
    LEFT JOIN partial d ON d.meter_id = p.meter_id AND d.customer_id = p.customer_id
        AND d.mark = p.mark
    WHERE true
    ON CONFLICT (meter_id, customer_id, event_id) DO NOTHING"""
)

# The new events, summed per (meter, customer) and added to the counters. Grouped
# before the meters and customers are joined: 2,000 rows to join, not a million.
_COUNT = """INSERT INTO {counter} (meter_id, customer_id, value)
    SELECT g.meter_id, g.customer_id,
        CASE WHEN m.formula = %(count)s THEN g.events ELSE g.total END
    FROM (
        SELECT e.meter_id, e.customer_id, SUM(e.value) AS total, COUNT(*) AS events
        FROM {event} e
        WHERE e.id > %(start)s AND e.id <= %(upto)s AND e.meter_id IN ({meters})
            AND NOT EXISTS (SELECT 1 FROM {adjustment} x WHERE x.event_id = e.id)
        GROUP BY e.meter_id, e.customer_id
    ) g
    JOIN {meter} m ON m.id = g.meter_id
    JOIN {customer} c ON c.id = g.customer_id
    WHERE c.test_clock_id IS NULL
    ON CONFLICT (meter_id, customer_id) DO UPDATE
        SET value = {counter}.value + excluded.value"""


def _counted_meters() -> list[str]:
    """The additive meters with alerts whose progress is kept."""
    kept = Alert.objects.filter(
        meter=OuterRef("pk"), alert_type=Alert.AlertType.USAGE_THRESHOLD
    ).exclude(status=Alert.Status.ARCHIVED)
    return list(
        Meter.objects.filter(
            Exists(kept),
            event_time_window__isnull=True,
            formula__in=[Meter.Formula.SUM, Meter.Formula.COUNT],
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _counted_alerts(meters: list[str]):
    return Alert.objects.filter(
        meter_id__in=meters, alert_type=Alert.AlertType.USAGE_THRESHOLD
    ).exclude(status=Alert.Status.ARCHIVED)


@transaction.atomic
def alert_usage_count(*, now: datetime, settled_through: int) -> tuple[int, int]:
    """Add the events received since the last run, up to ``settled_through`` (the
    watermark), to the usage counters.

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
    # Events up to the oldest alert's creation count for no alert: every mark
    # is taken at or after it, and only differences from marks mean anything.
    meters = _counted_meters()
    if meters:
        alerts = _counted_alerts(meters)
        start = max(after, alerts.aggregate(low=Min("after_event_id"))["low"])
        # Marks for the alerts created at events in [start, through], before
        # counting: they start from the counters before this run.
        upto = alerts.filter(
            after_event_id__gte=start, after_event_id__lte=max(start, through)
        ).aggregate(last=Max("after_event_id"))["last"]
        if upto is not None:
            _marks_write(_params(start=start, through=upto, upto=upto), meters)
        if through > start:
            _execute(_COUNT, _params(start=start, upto=through), meters)
    cursor.event_id = max(after, through)
    cursor.save(update_fields=["event_id"])
    return after, through


# The counted progress over the threshold of active alerts that have not fired
# for the customer. Filtered alerts: from each mark, its pair's counter, then the
# alerts taken at the mark whose threshold the difference reaches: an index range
# (``alert_by_meter_customer_mark``), so alerts that did not cross are not read.
# On PostgreSQL a LATERAL join keeps that order whatever the statistics say (just
# after 100,000 alerts are created they still say none: a plan led by the alerts
# looked each one's counter up). Everyone's alerts: by every counter of the meter
# (no mark: the counter started after the alert).
_PROGRESS = """SELECT mk.meter_id, mk.customer_id, mk.event_id,
        k.value - mk.value AS value,
        CAST(CASE WHEN k.value - mk.value > %(most)s THEN %(most)s
            ELSE k.value - mk.value END AS BIGINT) AS capped
    FROM {mark} mk
    JOIN {counter} k ON k.meter_id = mk.meter_id AND k.customer_id = mk.customer_id
    WHERE mk.event_id <= %(through)s"""
_CROSSING = """a.meter_id = p.meter_id AND a.customer_id = p.customer_id
        AND a.after_event_id = p.event_id AND a.gte <= p.capped
        AND a.status = %(active)s AND a.alert_type = %(usage)s
        AND NOT EXISTS (SELECT 1 FROM {trigger} t
            WHERE t.alert_id = a.id AND t.customer_id = a.customer_id)"""
_CROSSED_FILTERED = {
    "postgresql": f"""SELECT a.id, p.customer_id, p.value FROM ({_PROGRESS}) p
    CROSS JOIN LATERAL (SELECT a.id FROM {{alert}} a WHERE {_CROSSING}) a""",
    "sqlite": f"""SELECT a.id, p.customer_id, p.value FROM ({_PROGRESS}) p
    JOIN {{alert}} a ON {_CROSSING}""",
}
_CROSSED_EVERYONE = """SELECT x.id, x.customer_id, x.value FROM (
        SELECT a.id, a.gte, k.customer_id, k.value - COALESCE((
            SELECT mk.value FROM {mark} mk WHERE mk.meter_id = a.meter_id
                AND mk.customer_id = k.customer_id
                AND mk.event_id = a.after_event_id), 0) AS value
        FROM {alert} a JOIN {counter} k ON k.meter_id = a.meter_id
        WHERE a.customer_id IS NULL AND a.status = %(active)s
            AND a.alert_type = %(usage)s AND a.after_event_id <= %(through)s
    ) x
    WHERE x.value >= x.gte AND NOT EXISTS (SELECT 1 FROM {trigger} t
        WHERE t.alert_id = x.id AND t.customer_id = x.customer_id)"""
# Above any threshold, within BIGINT.
_MOST = 10**18


def progress_crossed() -> list[tuple[str, str, Decimal]]:
    """(alert id, customer id, usage) of every counted threshold reached and not
    fired, in order: two reads that return only those, whatever the number of
    alerts."""
    through = AlertCursor.objects.values_list("event_id", flat=True).first()
    if through is None:
        return []
    params = _params(through=through, most=_MOST)
    rows = _execute(_CROSSED_FILTERED[connection.vendor], params)
    rows += _execute(_CROSSED_EVERYONE, params)
    return sorted((a, c, Decimal(value)) for a, c, value in rows)


def alert_progress(*, alert: Alert, customer_id: str) -> Decimal | None:
    """The usage counted towards the alert for the customer (None: none yet)."""
    counter = (
        UsageCounter.objects.filter(meter_id=alert.meter_id, customer_id=customer_id)
        .values_list("value", flat=True)
        .first()
    )
    if counter is None or alert.after_event_id > AlertCursor.objects.get().event_id:
        return None
    mark = UsageMark.objects.filter(
        meter_id=alert.meter_id, customer_id=customer_id, event_id=alert.after_event_id
    ).values_list("value", flat=True)
    return counter - (mark.first() or 0)


# Takes a cancelled event back out: of its counter, and of the marks taken at or
# after it (created if missing) by alerts watching the customer, so the
# difference is unchanged for the alerts created after the event.
_CANCEL = (
    """INSERT INTO {counter} (meter_id, customer_id, value)
    VALUES (%(meter)s, %(customer)s, -%(amount)s)
    ON CONFLICT (meter_id, customer_id) DO UPDATE
        SET value = {counter}.value + excluded.value""",
    """INSERT INTO {mark} (meter_id, customer_id, event_id, value)
    SELECT DISTINCT a.meter_id, %(customer)s, a.after_event_id, -%(amount)s
    FROM {alert} a
    WHERE a.after_event_id >= %(event)s
        AND a.after_event_id <= %(through)s
        AND (a.customer_id = %(customer)s OR a.customer_id IS NULL) AND """
    + _COUNTED
    + """
    ON CONFLICT (meter_id, customer_id, event_id) DO UPDATE
        SET value = {mark}.value + excluded.value""",
)


def alert_progress_cancel(*, event: MeterEvent, now: datetime) -> None:
    """Take a cancelled event out of the counters a run counted it in.

    Runs in the cancel's transaction. The cursor's lock orders it with the runs:
    an event past the cursor is not counted yet, and the run that counts it will
    see the cancellation and leave it out.
    """
    meter = event.meter
    if event.customer.test_clock_id is not None or not (
        meter.event_time_window is None
        and meter.formula in (Meter.Formula.SUM, Meter.Formula.COUNT)
    ):
        return
    cursor, _ = AlertCursor.objects.select_for_update().get_or_create(pk=1)
    if event.id > cursor.event_id:
        return
    amount = 1 if meter.formula == Meter.Formula.COUNT else event.value
    params = _params(
        meter=meter.pk,
        customer=event.customer_id,
        amount=amount,
        event=event.id,
        through=cursor.event_id,
    )
    for statement in _CANCEL:
        _execute(statement, params, [meter.pk])
