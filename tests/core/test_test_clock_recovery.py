"""A test-clock advance survives its runner dying: the lease, the resume job, and a
real ``celery worker`` killed with SIGKILL mid-advance (PostgreSQL and Redis)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from billing.models import Invoice
from billing.services import subscription_create
from config.celery import app as celery_app
from core import clock
from core.models import Event, TestClock
from core.services import test_clocks as services
from tests.billing.factories import CustomerFactory, TestClockFactory, hypernian

START = datetime(2026, 1, 1, tzinfo=UTC)
APR1 = datetime(2026, 4, 1, tzinfo=UTC)
JUL1_2AM = datetime(2026, 7, 1, 2, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


class WorkerDied(BaseException):
    """Stands for SIGKILL: nothing in the runner catches it."""


@pytest.fixture
def moments():
    """A handler with work on days 1, 2 and 3; it dies once on day 2."""
    done: list[datetime] = []
    pending = [START + timedelta(days=day) for day in (1, 2, 3)]
    dies = {"left": 1}

    def run(*, clock, now):
        if now == START + timedelta(days=2) and dies["left"]:
            dies["left"] -= 1
            raise WorkerDied
        done.append(now)
        pending.remove(now)

    handler = clock.TimeHandler(
        name="test-moments",
        next_due=lambda *, clock, until: pending[0] if pending else None,
        run=run,
    )
    clock.register_time_handler(handler)
    yield done
    clock.unregister_time_handler(handler.name)


def _advance_and_die(test_clock, django_capture_on_commit_callbacks):
    with (
        pytest.raises(WorkerDied),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.test_clock_advance(
            test_clock=test_clock, frozen_time=START + timedelta(days=5)
        )
    test_clock.refresh_from_db()
    return test_clock


def test_a_dead_runner_is_resumed_where_it_stopped_once_its_lease_lapses(
    db, moments, api, django_capture_on_commit_callbacks
):
    test_clock = services.test_clock_create(frozen_time=START, now=clock.now())
    test_clock = _advance_and_die(test_clock, django_capture_on_commit_callbacks)
    assert test_clock.status == "advancing"
    assert test_clock.frozen_time == START + timedelta(days=2)
    assert moments == [START + timedelta(days=1)]

    # Its lease is live: a redelivered task does nothing, the job leaves it alone.
    assert services.test_clock_run_advance(test_clock_id=test_clock.pk) is None
    assert services.test_clocks_resume_stale(now=clock.now()) == 0

    lapsed = test_clock.advance_leased_until + timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        TestClock.objects.filter(pk=test_clock.pk).update(
            advance_leased_until=clock.now() - timedelta(seconds=1)
        )
        assert services.test_clocks_resume_stale(now=lapsed) == 1
    test_clock.refresh_from_db()
    assert (test_clock.status, test_clock.frozen_time) == (
        "ready",
        START + timedelta(days=5),
    )
    assert test_clock.advance_lease_token == ""
    assert moments == [START + timedelta(days=d) for d in (1, 2, 3)]
    assert services.test_clocks_resume_stale(now=lapsed) == 0
    # The API takes a new advance again.
    response = api.post(
        f"/v1/test_helpers/test_clocks/{test_clock.pk}/advance",
        {"frozen_time": int((START + timedelta(days=6)).timestamp())},
    )
    assert response.status_code == 200, response.json()


def test_a_runner_that_lost_its_lease_stops_and_leaves_the_finish_to_the_new_one(
    db, moments, django_capture_on_commit_callbacks
):
    test_clock = services.test_clock_create(frozen_time=START, now=clock.now())
    test_clock = _advance_and_die(test_clock, django_capture_on_commit_callbacks)
    old_token = test_clock.advance_lease_token
    TestClock.objects.filter(pk=test_clock.pk).update(
        advance_leased_until=clock.now() - timedelta(seconds=1)
    )
    assert services._claim(test_clock.pk) not in (None, old_token)
    assert services._step(test_clock, old_token, START + timedelta(days=3)) is False
    assert services._finish(test_clock, old_token, failure=None) is None
    test_clock.refresh_from_db()
    assert test_clock.status == "advancing"


def test_the_advance_task_goes_back_to_the_queue_when_its_worker_dies():
    from core.tasks import test_clock_advance_task

    assert test_clock_advance_task.acks_late
    assert test_clock_advance_task.reject_on_worker_lost
    schedule = settings.CELERY_BEAT_SCHEDULE.values()
    assert "core.tasks.test_clocks_resume_stale_task" in {
        job["task"] for job in schedule
    }


# ---- a real worker, killed -------------------------------------------------------

real_worker = pytest.mark.skipif(
    not (settings.IS_POSTGRES and settings.CELERY_BROKER_URL.startswith("redis")),
    reason="a worker process needs PostgreSQL and Redis",
)
LEASE_SECONDS = 2
SUBSCRIPTIONS = 40
PERIODS = 3  # April, May, June close on the way to July 1st


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{auth}@{host}/{db['NAME']}"


def _start_worker() -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "TALLY_TEST_CLOCK_LEASE_SECONDS": str(LEASE_SECONDS),
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,  # its own process group: one kill reaches its pool
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill(worker: subprocess.Popen) -> None:
    try:
        os.killpg(worker.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    worker.wait(timeout=30)


def _pool_child(worker: subprocess.Popen) -> int | None:
    path = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
    children = path.read_text().split() if path.exists() else []
    return int(children[0]) if children else None


def _cycle_invoices(test_clock) -> int:
    return Invoice.objects.filter(
        customer__test_clock=test_clock, billing_reason="subscription_cycle"
    ).count()


def _wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@real_worker
@pytest.mark.django_db(transaction=True)
def test_kill_9_of_the_worker_mid_advance_then_every_invoice_exactly_once():
    test_clock = TestClockFactory(frozen_time=APR1)
    flat, overage = hypernian()
    subs = [
        subscription_create(
            customer=CustomerFactory(test_clock=test_clock),
            params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
            now=APR1,
        )
        for _ in range(SUBSCRIPTIONS)
    ]
    total = SUBSCRIPTIONS * PERIODS
    celery_app.conf.task_always_eager = False
    workers = []
    try:
        celery_app.control.purge()
        workers.append(_start_worker())
        services.test_clock_advance(test_clock=test_clock, frozen_time=JUL1_2AM)

        # The whole worker (main process and pool) dies with the first invoices.
        _wait_for(lambda: _cycle_invoices(test_clock) > 0, timeout=60, what="work")
        _kill(workers[-1])
        first_kill = _cycle_invoices(test_clock)
        test_clock.refresh_from_db()
        assert test_clock.status == "advancing"
        assert first_kill < total

        # The Beat job hands the lapsed advance to a new worker; its pool child dies.
        workers.append(_start_worker())
        time.sleep(LEASE_SECONDS + 0.5)
        assert services.test_clocks_resume_stale(now=clock.now()) == 1
        _wait_for(
            lambda: _cycle_invoices(test_clock) > first_kill,
            timeout=60,
            what="the resumed advance",
        )
        child = _pool_child(workers[-1])
        if child is not None and _cycle_invoices(test_clock) < total:
            os.kill(child, signal.SIGKILL)
        # The redelivered message finds the dead child's lease still live; once it
        # lapses, the job resumes the advance again, and it runs to the end.
        time.sleep(LEASE_SECONDS + 0.5)
        services.test_clocks_resume_stale(now=clock.now())

        job_ran = [time.monotonic()]

        def ready() -> bool:
            test_clock.refresh_from_db()
            if test_clock.status != "advancing":
                return True
            if time.monotonic() - job_ran[0] > 1:
                # Beat runs the job every minute; here, every second.
                services.test_clocks_resume_stale(now=clock.now())
                job_ran[0] = time.monotonic()
            return False

        _wait_for(ready, timeout=120, what="the clock to be ready")
    finally:
        celery_app.conf.task_always_eager = True
        for worker in workers:
            _kill(worker)

    assert (test_clock.status, test_clock.frozen_time) == ("ready", JUL1_2AM)
    for sub in subs:
        cycles = list(
            Invoice.objects.filter(
                subscription=sub, billing_reason="subscription_cycle"
            ).values_list("period_start", "status")
        )
        assert sorted(cycles) == [
            (datetime(2026, month, 1, tzinfo=UTC), "open") for month in (4, 5, 6)
        ]
        numbers = list(
            Invoice.objects.filter(customer=sub.customer).values_list(
                "number", flat=True
            )
        )
        assert len(numbers) == len(set(numbers)) == PERIODS + 1
    ready_events = Event.objects.filter(
        type="test_helpers.test_clock.ready", object_id=test_clock.pk
    )
    assert ready_events.count() == 1
