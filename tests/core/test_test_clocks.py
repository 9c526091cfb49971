"""Test clocks: API shape, validation, and the time-handler mechanism."""

from datetime import UTC, datetime, timedelta

import pytest

from core import clock
from core.models import Customer, TestClock
from core.services import test_clocks as services
from tests.helpers import error_of

START = datetime(2026, 1, 1, tzinfo=UTC)


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


@pytest.fixture
def recorder():
    """Two handlers with work at fixed moments; records (name, now, frozen_time)."""
    calls = []
    pending = {
        "late": [START + timedelta(days=40)],
        "early": [
            START + timedelta(days=10),
            START + timedelta(days=40),
            START + timedelta(days=70),
        ],
    }

    def make(name, order):
        def next_due(*, clock, until):
            return pending[name][0] if pending[name] else None

        def run(*, clock, now):
            calls.append((name, now, clock.frozen_time))
            pending[name].pop(0)

        return clock_module.TimeHandler(
            name=f"test-{name}", next_due=next_due, run=run, order=order
        )

    clock_module = clock
    handlers = [make("late", 2), make("early", 1)]
    for handler in handlers:
        clock.register_time_handler(handler)
    yield calls
    for handler in handlers:
        clock.unregister_time_handler(handler.name)


def test_create_retrieve_list_delete(api):
    body = api.post(
        "/v1/test_helpers/test_clocks",
        {"frozen_time": unix(START), "name": "Monthly renewals"},
    ).json()
    assert body["object"] == "test_helpers.test_clock"
    assert body["id"].startswith("clock_")
    assert body["frozen_time"] == unix(START)
    assert body["status"] == "ready"
    assert body["name"] == "Monthly renewals"
    assert body["deletes_after"] > body["created"]
    assert api.get(f"/v1/test_helpers/test_clocks/{body['id']}").json() == body
    assert [
        c["id"] for c in api.get("/v1/test_helpers/test_clocks").json()["data"]
    ] == [body["id"]]
    customer = api.post("/v1/customers", {"test_clock": body["id"]}).json()
    deleted = api.delete(f"/v1/test_helpers/test_clocks/{body['id']}").json()
    assert deleted == {
        "id": body["id"],
        "object": "test_helpers.test_clock",
        "deleted": True,
    }
    assert not Customer.objects.filter(pk=customer["id"]).exists()


def test_advance_runs_handlers_in_time_order_and_ends_ready(api, recorder):
    test_clock = api.post(
        "/v1/test_helpers/test_clocks", {"frozen_time": unix(START)}
    ).json()
    target = START + timedelta(days=60)
    body = api.post(
        f"/v1/test_helpers/test_clocks/{test_clock['id']}/advance",
        {"frozen_time": unix(target)},
    ).json()
    # Celery runs eagerly in tests: by the time the response is read the work is done.
    assert body["status"] == "advancing"
    assert body["status_details"] == {"advancing": {"target_frozen_time": unix(target)}}
    day = timedelta(days=1)
    assert recorder == [
        ("early", START + 10 * day, START + 10 * day),
        ("early", START + 40 * day, START + 40 * day),
        ("late", START + 40 * day, START + 40 * day),
    ]
    after = api.get(f"/v1/test_helpers/test_clocks/{test_clock['id']}").json()
    assert after["status"] == "ready"
    assert after["frozen_time"] == unix(target)
    assert after["status_details"] == {}
    types = [e["type"] for e in api.get("/v1/events").json()["data"]]
    assert types[:2] == [
        "test_helpers.test_clock.ready",
        "test_helpers.test_clock.advancing",
    ]


def test_customer_now_follows_the_clock(db):
    test_clock = services.test_clock_create(frozen_time=START, now=clock.now())
    customer = Customer.objects.create(invoice_prefix="CLK001", test_clock=test_clock)
    assert clock.now_for_customer(customer) == START
    plain = Customer.objects.create(invoice_prefix="CLK002")
    assert abs(clock.now_for_customer(plain) - clock.now()) < timedelta(seconds=5)


def test_failing_handler_marks_internal_failure(db, django_capture_on_commit_callbacks):
    def next_due(*, clock, until):
        return START + timedelta(days=1)

    def run(*, clock, now):
        raise ValueError("handler broke")

    clock.register_time_handler(
        clock.TimeHandler(name="test-broken", next_due=next_due, run=run)
    )
    try:
        test_clock = services.test_clock_create(frozen_time=START, now=clock.now())
        with django_capture_on_commit_callbacks(execute=True):
            services.test_clock_advance(
                test_clock=test_clock, frozen_time=START + timedelta(days=2)
            )
        test_clock.refresh_from_db()
        assert test_clock.status == TestClock.Status.INTERNAL_FAILURE
        assert "handler broke" in test_clock.failure_message
    finally:
        clock.unregister_time_handler("test-broken")


def test_handler_that_never_progresses_is_stopped(
    db, django_capture_on_commit_callbacks, monkeypatch
):
    # The guard's bound, lowered: at 1000 steps of every handler's queries the
    # advance took a quarter of a minute of CPU to fail the same way.
    monkeypatch.setattr(services, "_MAX_STEPS_AT_ONE_MOMENT", 20)
    calls = []
    clock.register_time_handler(
        clock.TimeHandler(
            name="test-stuck",
            next_due=lambda *, clock, until: START,
            run=lambda *, clock, now: calls.append(now),
        )
    )
    try:
        test_clock = services.test_clock_create(frozen_time=START, now=clock.now())
        with django_capture_on_commit_callbacks(execute=True):
            services.test_clock_advance(
                test_clock=test_clock, frozen_time=START + timedelta(days=1)
            )
        test_clock.refresh_from_db()
        assert test_clock.status == TestClock.Status.INTERNAL_FAILURE
        assert "made no progress" in test_clock.failure_message
        assert calls == [START] * 21  # the bound's steps at that moment, then stopped
    finally:
        clock.unregister_time_handler("test-stuck")


@pytest.mark.parametrize(
    ("offset", "fragment"),
    [
        (timedelta(0), "after"),
        (-timedelta(days=1), "after"),
        (timedelta(days=800), "two years"),
    ],
)
def test_advance_validation(api, offset, fragment):
    test_clock = api.post(
        "/v1/test_helpers/test_clocks", {"frozen_time": unix(START)}
    ).json()
    response = api.post(
        f"/v1/test_helpers/test_clocks/{test_clock['id']}/advance",
        {"frozen_time": unix(START + offset)},
    )
    error = error_of(response)
    assert error["param"] == "frozen_time"
    assert fragment in error["message"]


def test_advance_while_advancing_is_refused(api):
    test_clock = api.post(
        "/v1/test_helpers/test_clocks", {"frozen_time": unix(START)}
    ).json()
    TestClock.objects.filter(pk=test_clock["id"]).update(status="advancing")
    response = api.post(
        f"/v1/test_helpers/test_clocks/{test_clock['id']}/advance",
        {"frozen_time": unix(START + timedelta(days=1))},
    )
    assert response.status_code == 400


def test_expired_clocks_are_deleted(db):
    test_clock = services.test_clock_create(frozen_time=START, now=clock.now())
    assert services.test_clocks_delete_expired(now=clock.now()) == 0
    assert (
        services.test_clocks_delete_expired(now=clock.now() + timedelta(days=31)) == 1
    )
    assert not TestClock.objects.filter(pk=test_clock.pk).exists()
