"""Faults: a real ``kill -9`` of a worker or a web process mid-work, then recovery.

Each test starts Tally's own processes (``tests/system/processes.py``) against the
test database (PostgreSQL) and Redis, kills one with SIGKILL (its whole process
group) while it works, starts it again, lets the Beat jobs catch up (run here, at
once), and checks what must hold after any crash:

- worker killed while finalizing invoices and applying credits: every invoice
  exists once and is finalized once (one number, one ``invoice.finalized``), each
  grant's balance equals its ledger, no grant overdrawn, the credits on the
  invoices equal the ledger's debits;
- worker killed while delivering webhooks: every event reaches the endpoint (at
  least once; the receiver de-duplicates by id), every delivery ends succeeded;
- web killed during a v2 meter event stream, and the bulk import killed: the client
  (or the operator) sends again what was not acknowledged; every event is stored
  exactly once and the usage rollups add up to the events.

Skipped (with the reason) without PostgreSQL or Redis; under CI=true on PostgreSQL
a missing Redis fails them (the ``broker_url`` fixture).
"""

from __future__ import annotations

import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from django.db import connection
from django.db.models import Count, Sum

from tests.system.processes import BIN, ROOT, Processes
from tests.system.receiver import Receiver
from tests.system.test_many_processes import (  # noqa: F401  (broker_url: a fixture)
    _catch_up_beat,
    _no_webhook_task,
    _test_database_url,
    _wait,
    broker_url,
)

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
TIMEOUT = 60

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def processes(broker_url):  # noqa: F811
    from config.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False  # what this process queues goes to Redis
    running = Processes(database_url=_test_database_url(), broker_url=broker_url)
    yield running
    running.stop_all()
    app.conf.task_always_eager = eager


def _open_transactions() -> int:
    """Transactions other sessions hold open on the test database right now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
            " AND state <> 'idle'"
        )
        return cursor.fetchone()[0]


def _taken(broker: str) -> bool:
    """A worker holds a task it has not acknowledged (it is running it)."""
    import redis

    return redis.Redis.from_url(broker).hlen("unacked") > 0


def _forget_unacknowledged(broker: str) -> None:
    """Drop what the killed worker held: lost with its host, not redelivered (the
    broker would give it back only after its visibility timeout)."""
    import redis

    redis.Redis.from_url(broker).delete("unacked", "unacked_index")


def _queue(task: str, queue: str) -> None:
    from config.celery import app

    app.send_task(task, queue=queue)


# ---- a worker killed while finalizing invoices and applying credits -------------


def _due_drafts(count: int) -> list:
    """``count`` customers, each with a grant and a draft past its grace period
    whose metered line the grant partly pays."""
    from billing.services import subscription_create, subscriptions_close_due
    from tests.billing.factories import CustomerFactory, hypernian, record_usage
    from tests.credits.factories import make_grant

    flat, overage = hypernian()
    for _ in range(count):
        customer = CustomerFactory()
        make_grant(customer, 3000, now=APR1)
        record_usage(
            meter=overage.recurring_meter,
            customer=customer,
            value=150_000,  # 50,000 over the free tier: a 5,000 line
            at=APR1 + timedelta(days=2),
        )
        subscription_create(
            customer=customer,
            params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
            now=APR1,
        )
    subscriptions_close_due(now=MAY1 + timedelta(minutes=1))


def test_worker_killed_while_finalizing_and_applying_credits(processes):
    from billing.integrity import books_figures, books_problems
    from billing.models import Invoice
    from core.models import Event
    from credits.models import CreditBalanceTransaction

    count = 120
    _due_drafts(count)
    cycles = Invoice.objects.filter(billing_reason="subscription_cycle")
    assert cycles.filter(status="draft").count() == count

    worker = processes.worker("invoicing", ["invoicing"])
    _queue("billing.tasks.invoices_finalize_due_task", "invoicing")
    _wait(
        lambda: _taken(processes.env["CELERY_BROKER_URL"]) and _open_transactions(),
        what="the finalization",
        timeout=TIMEOUT,
    )
    processes.kill(worker)
    finalized_at_kill = cycles.exclude(status="draft").count()

    processes.worker("invoicing-2", ["invoicing"])
    _queue("billing.tasks.invoices_finalize_due_task", "invoicing")  # Beat, again
    _wait(
        lambda: not cycles.filter(status="draft").exists(),
        what="every draft finalized",
        timeout=TIMEOUT,
    )

    assert cycles.count() == count
    assert set(cycles.values_list("status", flat=True)) == {"open"}
    per_subscription = cycles.values("subscription").annotate(n=Count("id"))
    assert {row["n"] for row in per_subscription} == {1}
    for customer_id, numbers in _numbers_by_customer().items():
        assert len(numbers) == len(set(numbers)) == 2, customer_id
    finalized_events = Event.objects.filter(type="invoice.finalized")
    assert finalized_events.count() == Invoice.objects.count()
    assert (
        finalized_events.values("object_id").distinct().count()
        == Invoice.objects.count()
    )
    assert books_problems(books_figures()) == []
    applied = CreditBalanceTransaction.objects.filter(kind="credits_applied")
    assert applied.aggregate(total=Sum("amount"))["total"] == 3000 * count
    on_invoices = sum(
        credit["amount"]
        for amounts in cycles.values_list("total_pretax_credit_amounts", flat=True)
        for credit in amounts
    )
    assert on_invoices == 3000 * count
    print(f"finalized when killed: {finalized_at_kill}/{count}")


def _numbers_by_customer() -> dict[str, list[str]]:
    from billing.models import Invoice

    numbers: dict[str, list[str]] = {}
    for customer_id, number in Invoice.objects.values_list("customer_id", "number"):
        numbers.setdefault(customer_id, []).append(number)
    return numbers


# ---- a worker killed while delivering webhooks -----------------------------------


def test_worker_killed_while_delivering_webhooks_loses_none(processes):
    from core import clock
    from core.models import Event, WebhookDelivery
    from core.services.customers import customer_create
    from core.services.webhooks import webhook_endpoint_create

    receiver = Receiver()
    receiver.delay = 0.02
    endpoint = webhook_endpoint_create(
        params={
            "url": f"http://127.0.0.1:{receiver.server_port}/hook",
            "enabled_events": ["customer.created"],
        },
        now=clock.now(),
    )
    receiver.secret = endpoint.secret
    worker = processes.worker("webhooks", ["webhooks"])
    count = 150
    for index in range(count):  # each commit fans out and queues its send
        customer_create(params={"name": f"Webhook {index}"})
    _wait(lambda: len(receiver.received) >= 10, what="sends", timeout=TIMEOUT)
    processes.kill(worker)
    _forget_unacknowledged(processes.env["CELERY_BROKER_URL"])
    received_at_kill = len(receiver.received)
    assert received_at_kill < count

    processes.worker("webhooks-2", ["webhooks"])
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)

    idle = _no_webhook_task(processes.env["CELERY_BROKER_URL"])

    def all_delivered() -> bool:
        if not deliveries.exclude(status="succeeded").exists():
            return True
        if idle():  # what is left is the dead worker's: Beat dispatches it again
            _catch_up_beat()
        return False

    _wait(all_delivered, what="every delivery", timeout=TIMEOUT, every=0.2)
    event_ids = set(
        Event.objects.filter(type="customer.created").values_list("id", flat=True)
    )
    assert len(event_ids) == count
    assert set(receiver.received) == event_ids
    assert receiver.bad == 0
    assert deliveries.count() == count
    doubles = sum(times - 1 for times in receiver.received.values())
    print(f"received when killed: {received_at_kill}/{count}; sent twice: {doubles}")
    receiver.shutdown()


# ---- web killed during a v2 stream; the bulk import killed -----------------------


def _meter_and_customer():
    from core.services.customers import customer_create
    from tests.catalog.factories import MeterFactory

    meter = MeterFactory(event_name="fault_tokens")
    customer = customer_create(params={"name": "Streamer"})
    return meter, customer


def _assert_each_event_once(meter, identifiers: set[str], value: int) -> None:
    from metering.models import MeterEvent, MeterUsageRollup

    stored = MeterEvent.objects.filter(meter_id=meter.pk)
    assert stored.count() == len(identifiers)
    assert set(stored.values_list("identifier", flat=True)) == identifiers
    rollups = MeterUsageRollup.objects.filter(meter=meter).aggregate(
        total=Sum("value_sum"), events=Sum("event_count")
    )
    assert rollups["events"] == len(identifiers)
    assert rollups["total"] == Decimal(value * len(identifiers))


def _url(address: tuple[str, int]) -> str:
    return f"http://{address[0]}:{address[1]}"


def _stream(base: str, token: str, batch: list[dict]) -> bool:
    """Send one stream call; True if acknowledged, False if the web died under it."""
    try:
        answer = requests.post(
            f"{base}/v2/billing/meter_event_stream",
            headers={"Authorization": f"Bearer {token}"},
            json={"events": batch},
            timeout=10,
        )
    except requests.RequestException:  # refused, reset, cut off mid-answer
        return False
    assert answer.status_code == 200, answer.text
    return True


def test_web_killed_during_a_v2_stream_loses_and_doubles_nothing(processes):
    from core.services.api_keys import api_key_create

    meter, customer = _meter_and_customer()
    _, secret = api_key_create(name="stream")

    def session_token(base_url: str) -> str:
        answer = requests.post(
            f"{base_url}/v2/billing/meter_event_session",
            headers={"Authorization": f"Bearer {secret}"},
            timeout=10,
        )
        return answer.json()["authentication_token"]

    batches = [
        [
            {
                "event_name": meter.event_name,
                "identifier": f"s-{batch}-{item}",
                "payload": {"stripe_customer_id": customer.pk, "value": "7"},
            }
            for item in range(100)
        ]
        for batch in range(300)
    ]
    base = _url(processes.web(workers=1, threads=4))
    gunicorn = processes.running[-1]
    token = session_token(base)
    acknowledged: list[int] = []
    unacknowledged: list[int] = []

    def send(number: int) -> None:
        if _stream(base, token, batches[number]):
            acknowledged.append(number)
        else:
            unacknowledged.append(number)

    # Four clients stream side by side; the web dies under them.
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(send, number) for number in range(len(batches))]
        _wait(lambda: len(acknowledged) >= 10, what="acknowledged calls", timeout=30)
        processes.kill(gunicorn)
        for future in futures:
            future.result()
    assert acknowledged
    assert unacknowledged

    # The clients send again what was not acknowledged, and one call that was.
    base = _url(processes.web(workers=1))
    token = session_token(base)
    for number in [*unacknowledged, acknowledged[0]]:
        assert _stream(base, token, batches[number])
    identifiers = {event["identifier"] for batch in batches for event in batch}
    _assert_each_event_once(meter, identifiers, 7)
    print(f"acknowledged before the kill: {len(acknowledged)}/{len(batches)}")


def test_bulk_import_killed_then_rerun_stores_each_event_once(processes, tmp_path):
    from metering.models import MeterEvent

    meter, customer = _meter_and_customer()
    count = 300_000
    path = tmp_path / "events.ndjson"
    now = int(time.time())
    with path.open("w") as out:
        for index in range(count):
            row = {
                "event_name": meter.event_name,
                "identifier": f"imp-{index}",
                "timestamp": now - 3600 + index % 3000,
                "payload": {"stripe_customer_id": customer.pk, "value": "2"},
            }
            out.write(json.dumps(row) + "\n")
    command = [
        str(BIN / "python"), "manage.py", "import_meter_events", str(path),
        "--no-progress", "--batch-size", "2000",
    ]  # fmt: skip
    first = subprocess.Popen(
        command,
        cwd=ROOT,
        env=processes.env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    stored = MeterEvent.objects.filter(meter_id=meter.pk)
    _wait(lambda: stored.count() > 0, what="the first batches", timeout=TIMEOUT)
    processes.kill(first)
    stored_at_kill = stored.count()
    assert stored_at_kill < count

    rerun = subprocess.run(
        command, cwd=ROOT, env=processes.env, capture_output=True, timeout=120
    )
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    _assert_each_event_once(meter, {f"imp-{i}" for i in range(count)}, 2)
    print(f"stored when killed: {stored_at_kill}/{count}")
