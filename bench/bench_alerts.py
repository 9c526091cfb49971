"""The alerts and billing-threshold Beat jobs on a large events table.

Setup (skipped when already done): ``--rows`` events (default 2 million; 100,000
with ``--quick``) of one meter for 2,000 customers over the last 30 days are
generated inside PostgreSQL, with their hourly rollups, as ``bench_summaries``
does. One alert for every customer and 200 alerts filtered on one customer each
are created at the middle event, so half the events were reported after them.

Figures (read CPU time and query counts rather than wall time on a shared box):

- catch-up: the first run after the alerts exist counts every event reported since
  their creation (once, like a deploy or a worker that was down).
- steady state: each run counts only the events received since the last run, in
  one grouped query. A minute of new usage (``--events``, default 20,000, about
  330 events/s) is inserted, then the job runs: wall and CPU time, queries, and
  the PostgreSQL execution time (EXPLAIN ANALYZE, rolled back) of its two main
  statements: the count of the new events into one counter per (meter, customer),
  and the read of the crossed thresholds. Its cost follows the new events, not
  the age of the alerts, the stored events or the number of customers.
- firing: another minute of usage with 200 alerts that each customer crosses, so
  each fires once (trigger, event, webhook fan-out, two emails queued).
- billing thresholds: 500 subscriptions (50 with ``--quick``) with ``amount_gte``
  on a metered price of the meter, none reached, half of them sharing one period
  and half with periods of their own: wall time, CPU and queries per subscription.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench import support

EVENT_NAME = "bench_alert_tokens"
CUSTOMERS = 2_000
FILTERED_ALERTS = 200
PASS_ALERTS = 100_000
CHUNK = 1_000_000
SPAN = timedelta(days=30)
TITLE = "bench:"


def _fixtures():
    from core.models import Customer

    meter = support.sum_meter(EVENT_NAME, "Bench alert tokens")
    customers = list(
        Customer.objects.filter(metadata__bench_alerts="true")
        .order_by("id")
        .values_list("id", flat=True)
    )
    new = [
        Customer(
            name=f"Alerts bench {index}",
            email=f"alerts-bench-{index}@example.com",
            invoice_prefix=f"ALB{uuid.uuid4().hex[:8].upper()}",
            metadata={"bench_alerts": "true"},
        )
        for index in range(len(customers), CUSTOMERS)
    ]
    Customer.objects.bulk_create(new)
    customers += [customer.id for customer in new]
    return meter, sorted(customers)


def _generate(meter_id: str, customers: list[str], rows: int, end: datetime) -> float:
    """Fill the table up to ``rows`` events of the meter over the 30 days to ``end``."""
    from django.db import connection

    raw = connection.connection
    with raw.cursor() as cursor:
        have = cursor.execute(
            "SELECT count(*) FROM metering_meterevent WHERE meter_id = %s", [meter_id]
        ).fetchone()[0]
        started = time.perf_counter()
        step_us = int(SPAN.total_seconds() * 1_000_000 / rows)
        for offset in range(have, rows, CHUNK):
            upto = min(offset + CHUNK, rows)
            cursor.execute(
                "INSERT INTO metering_meterevent (meter_id, customer_id, event_name,"
                " identifier, value, timestamp, created, livemode)"
                " SELECT %(meter)s, (%(customers)s::text[])[1 + (i * 7919) %% %(n)s],"
                " %(event_name)s, 'alb-' || i, 1 + (i * 31) %% 100,"
                " %(start)s::timestamptz + make_interval(secs => i * %(step)s / 1e6),"
                " %(start)s::timestamptz"
                " + make_interval(secs => i * %(step)s / 1e6 + 2), false"
                " FROM generate_series(%(from)s::bigint, %(to)s::bigint) AS i",
                {
                    "meter": meter_id,
                    "customers": customers,
                    "n": len(customers),
                    "event_name": EVENT_NAME,
                    "start": end - SPAN,
                    "step": step_us,
                    "from": offset,
                    "to": upto - 1,
                },
            )
            raw.commit()
            print(f"   events: {upto:,} of {rows:,}", flush=True)
        if have < rows:
            support.rollups_rebuild(raw, cursor, meter_id)
    return time.perf_counter() - started


_BENCH_CUSTOMERS = (
    "(SELECT id FROM core_customer WHERE metadata->>'bench_alerts' = 'true')"
)
# Children first: with triggers off (finalized invoices refuse deletion) no
# foreign key cascades either.
_RESET = (
    "DELETE FROM alerts_alertcursor",
    "DELETE FROM alerts_usagemark WHERE customer_id IN {c}",
    "DELETE FROM alerts_usagecounter WHERE customer_id IN {c}",
    "DELETE FROM alerts_alerttrigger WHERE customer_id IN {c}",
    "DELETE FROM alerts_alert WHERE title LIKE 'bench:%%'",
    "DELETE FROM alerts_thresholdinvoice WHERE customer_id IN {c}",
    "DELETE FROM billing_invoicelineitem WHERE invoice_id IN"
    " (SELECT id FROM billing_invoice WHERE customer_id IN {c})",
    "DELETE FROM billing_invoiceitem WHERE customer_id IN {c}",
    "DELETE FROM billing_invoice WHERE customer_id IN {c}",
    "DELETE FROM billing_subscriptionitem WHERE subscription_id IN"
    " (SELECT id FROM billing_subscription WHERE customer_id IN {c})",
    "DELETE FROM billing_subscription WHERE customer_id IN {c}",
    "DELETE FROM core_outboundemail WHERE template = 'alerts/email/alert_triggered'",
    "DELETE FROM metering_meterevent WHERE identifier LIKE 'alb-new-%%'",
)


def _reset():
    """Remove what an earlier run made: alerts, subscriptions, their invoices."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        for statement in _RESET:
            cursor.execute(statement.format(c=_BENCH_CUSTOMERS))


def _new_minute(meter_id: str, customers: list[str], count: int, now, tag: str):
    """``count`` events received three minutes ago (past the receipt lag)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO metering_meterevent (meter_id, customer_id, event_name,"
            " identifier, value, timestamp, created, livemode)"
            " SELECT %(meter)s, (%(customers)s::text[])[1 + (i * 7919) %% %(n)s],"
            " %(event_name)s, 'alb-new-' || %(tag)s || '-' || i, 1 + i %% 100,"
            " %(at)s::timestamptz, %(at)s::timestamptz, false"
            " FROM generate_series(1, %(count)s) AS i",
            {
                "meter": meter_id,
                "customers": customers,
                "n": len(customers),
                "event_name": EVENT_NAME,
                "tag": tag,
                "at": now - timedelta(minutes=3),
                "count": count,
            },
        )


def _middle(meter_id: str) -> tuple[int, datetime]:
    """The id and receipt time of the meter's middle event: alerts start there."""
    from metering.models import MeterEvent

    events = MeterEvent.objects.filter(meter_id=meter_id).order_by("id")
    count = events.count()
    return events.values_list("id", "created")[count // 2]


def _alerts(meter, customers, after_id: int, created: datetime) -> None:
    from alerts.models import Alert

    Alert.objects.bulk_create(
        [
            Alert(
                title=f"{TITLE} everyone",
                meter=meter,
                gte=10**12,
                after_event_id=after_id,
                created=created,
            ),
            *(
                Alert(
                    title=f"{TITLE} {customer}",
                    meter=meter,
                    customer_id=customer,
                    gte=10**12,
                    after_event_id=after_id,
                    created=created,
                )
                for customer in customers[:: len(customers) // FILTERED_ALERTS][
                    :FILTERED_ALERTS
                ]
            ),
        ]
    )


def _measure(work):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        cpu, wall = time.process_time(), time.perf_counter()
        result = work()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return result, 1000 * wall, 1000 * cpu, list(queries)


def _explain_ms(sql: str, params) -> tuple[float, str]:
    """PostgreSQL's execution time of ``sql`` and its top plan nodes (a write is
    explained in a savepoint rolled back: EXPLAIN ANALYZE runs what it explains)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = [row[0] for row in cursor.fetchall()]
        transaction.set_rollback(True)
    total = next(line for line in plan if line.startswith("Execution Time"))
    nodes = [line.strip() for line in plan if "Scan" in line or "Join" in line]
    return float(total.split(":")[1].split()[0]), "\n     ".join(nodes[:5])


def _explained(queries) -> dict[str, str]:
    """The statements worth explaining, by name: the marks, the count and the
    crossing reads."""
    found = {}
    for query in queries:
        sql = query["sql"]
        if "INTO alerts_usagecounter" in sql:
            found.setdefault("count", sql)
        elif "INTO alerts_usagemark" in sql:
            found.setdefault("marks of new alerts", sql)
        elif sql.startswith("SELECT a.id") and "alerts_usagecounter" in sql:
            found.setdefault("crossing read", sql)
        elif sql.startswith("SELECT x.id") and "alerts_usagecounter" in sql:
            found.setdefault("crossing read (everyone's alerts)", sql)
    return found


def _run_job(now) -> tuple[int, dict]:
    from alerts.services import alerts_evaluate

    fired, wall, cpu, queries = _measure(lambda: alerts_evaluate(now=now))
    figures = {"wall (ms)": wall, "CPU of the job (ms)": cpu, "queries": len(queries)}
    for name, sql in _explained(queries).items():
        # The captured text has its parameters in it already.
        db_ms, plan = _explain_ms(sql.replace("%", "%%"), ())
        figures[f"{name}: PostgreSQL execution (ms)"] = db_ms
        print(f"   {name} plan: {plan}", flush=True)
    return fired, figures


def _alert_figures(meter, customers, now, per_minute: int) -> dict:
    from metering.models import MeterEvent

    after_id, created = _middle(meter.id)
    _alerts(meter, customers, after_id, created)
    since = MeterEvent.objects.filter(meter_id=meter.id, id__gt=after_id).count()
    figures: dict = {
        "events reported since the alerts were created": since,
        f"alerts (1 for everyone + {FILTERED_ALERTS} filtered)": 1 + FILTERED_ALERTS,
    }
    fired, catch_up = _run_job(now)
    assert fired == 0
    figures.update({f"catch-up run: {key}": value for key, value in catch_up.items()})
    _new_minute(meter.id, customers, per_minute, now, "a")
    fired, steady = _run_job(now + timedelta(minutes=1))
    assert fired == 0
    figures["steady run: new events counted"] = per_minute
    figures.update({f"steady run: {key}": value for key, value in steady.items()})
    return figures


def _firing_figures(meter, customers, now, per_minute: int) -> dict:
    from alerts.services import alert_create
    from core.models import Customer

    for customer in Customer.objects.filter(
        pk__in=customers[1 :: len(customers) // FILTERED_ALERTS][:FILTERED_ALERTS]
    ):
        alert_create(
            title=f"{TITLE} fires for {customer.pk}",
            meter_id=meter.id,
            gte=1,
            customer=customer,
            now=now,
        )
    _new_minute(meter.id, customers, per_minute, now + timedelta(minutes=1), "b")
    fired, figures = _run_job(now + timedelta(minutes=2))
    return {
        "firing run: alerts fired": fired,
        **{f"firing run: {key}": value for key, value in figures.items()},
        "firing run: wall per firing (ms)": figures["wall (ms)"] / max(fired, 1),
    }


def _pass_figures(meter, customers, now, per_minute: int) -> dict:
    """PASS_ALERTS filtered alerts (thresholds per customer), a minute of usage,
    one Beat pass: its wall time is the target's figure. One in a thousand
    thresholds is crossed, so the pass fires those and no other."""
    from alerts.models import Alert
    from metering.models import MeterEvent

    after_id = MeterEvent.objects.order_by("-id").values_list("id", flat=True)[0]
    per_customer = PASS_ALERTS // len(customers)
    Alert.objects.bulk_create(
        (
            Alert(
                title=f"{TITLE} pass {index}",
                meter=meter,
                customer_id=customer,
                gte=1 if (number * per_customer + index) % 1000 == 0 else 10**12,
                after_event_id=after_id,
                created=now + timedelta(minutes=2),
            )
            for number, customer in enumerate(customers)
            for index in range(per_customer)
        ),
        batch_size=5000,
    )
    crossing = Alert.objects.filter(title__startswith=f"{TITLE} pass", gte=1).count()
    _new_minute(meter.id, customers, per_minute, now + timedelta(minutes=3), "c")
    fired, figures = _run_job(now + timedelta(minutes=3))
    return {
        "pass: alerts": per_customer * len(customers),
        "pass: alerts crossed and fired": f"{fired} of {crossing}",
        **{f"pass: {key}": value for key, value in figures.items()},
        "100,000 alerts per pass (s)": figures["wall (ms)"] / 1000,
    }


def _threshold_figures(meter, customers, count: int, now) -> dict:
    from alerts.services import billing_thresholds_evaluate
    from billing.services import subscription_create
    from catalog.models import Price, Product
    from core.models import Customer

    product = Product.objects.create(name="Bench alert tokens")
    price = Price.objects.create(
        product=product,
        currency="usd",
        type="recurring",
        billing_scheme="per_unit",
        unit_amount_decimal=Decimal("0.01"),
        recurring_interval="month",
        recurring_interval_count=1,
        recurring_usage_type="metered",
        recurring_meter=meter,
    )
    # Half the subscriptions share a period (one usage read for all), half have
    # periods of their own (a usage read each: the worst case).
    start = now - timedelta(days=10)
    for index, customer in enumerate(Customer.objects.filter(pk__in=customers[:count])):
        subscription_create(
            customer=customer,
            params={
                "items": [{"price": price.pk}],
                "billing_thresholds": {"amount_gte": 10**9},
            },
            now=start - timedelta(minutes=index % 2 * index),
        )
    billing_thresholds_evaluate(now=now)
    issued, wall, cpu, queries = _measure(lambda: billing_thresholds_evaluate(now=now))
    assert issued == 0
    return {
        "thresholds: subscriptions evaluated": count,
        "thresholds: wall (ms)": wall,
        "thresholds: CPU per subscription (ms)": cpu / count,
        "thresholds: queries": len(queries),
        "thresholds: queries per subscription": round(len(queries) / count, 2),
    }


def run(args) -> dict:
    rows = args.rows or (100_000 if args.quick else 2_000_000)
    subscriptions = 50 if args.quick else 500
    now = datetime.now(UTC).replace(microsecond=0)
    meter, customers = _fixtures()
    # Events end an hour before now: the usage is all in the past when jobs run.
    setup_seconds = _generate(meter.id, customers, rows, now - timedelta(hours=1))
    _reset()
    figures: dict = {
        "events of the meter": rows,
        "customers": len(customers),
        "setup (s, 0 when reused)": setup_seconds,
    }
    per_minute = args.events or (2_000 if args.quick else 20_000)
    figures.update(_threshold_figures(meter, customers, subscriptions, now))
    figures.update(_alert_figures(meter, customers, now, per_minute))
    figures.update(_firing_figures(meter, customers, now, per_minute))
    figures.update(_pass_figures(meter, customers, now, per_minute))
    _reset()
    return figures
