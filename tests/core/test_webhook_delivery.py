"""Delivering events to webhook endpoints: signed POSTs after commit, retries, order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.test import TestCase

from core import clock, tasks
from core.models import Event, WebhookDelivery, WebhookEndpoint
from core.services.customers import customer_create
from core.services.events import event_record
from core.webhooks import dispatch
from tests.core.test_webhook_signing import endpoint_for, serving, verified

pytestmark = pytest.mark.django_db

RETRY = timedelta(minutes=1)


@pytest.fixture
def receiver():
    yield from serving()


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Call an engine function and run what it queues after commit, as a worker."""

    def call(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return call


SEND_TASKS = (tasks.webhook_delivery_send_task, tasks.webhook_lane_send_task)


@pytest.fixture
def queued(monkeypatch):
    """Keep send tasks in a list instead of running them (a worker that is busy)."""
    jobs: list[tuple] = []
    for task in SEND_TASKS:
        monkeypatch.setattr(
            task, "delay", lambda *args, task=task: jobs.append((task, args))
        )
    return jobs


def work(jobs: list[tuple]) -> None:
    """Run queued send tasks, including those they queue, oldest first."""
    while jobs:
        task, args = jobs.pop(0)
        with TestCase.captureOnCommitCallbacks(execute=True):
            task(*args)


def invoice_payload(customer_id: str) -> dict:
    """An invoice as billing renders it when finalized (basil shape, abridged)."""
    return {
        "id": "in_1QwebhookTestInvoice0001",
        "object": "invoice",
        "amount_due": 25000,
        "amount_paid": 0,
        "amount_remaining": 25000,
        "auto_advance": True,
        "billing_reason": "subscription_cycle",
        "collection_method": "charge_automatically",
        "created": 1777636800,
        "currency": "usd",
        "customer": customer_id,
        "customer_email": "jenny.rosen@example.com",
        "lines": {
            "object": "list",
            "data": [
                {
                    "id": "il_1QwebhookTestLine0001",
                    "object": "line_item",
                    "amount": 20000,
                    "currency": "usd",
                    "description": "1 × Hypernian Pro (at $200.00 / month)",
                    "period": {"start": 1777636800, "end": 1780315200},
                    "quantity": 1,
                },
                {
                    "id": "il_1QwebhookTestLine0002",
                    "object": "line_item",
                    "amount": 5000,
                    "currency": "usd",
                    "description": "150,000 × API tokens (tiered)",
                    "period": {"start": 1774958400, "end": 1777636800},
                    "quantity": 150000,
                },
            ],
            "has_more": False,
            "total_count": 2,
            "url": "/v1/invoices/in_1QwebhookTestInvoice0001/lines",
        },
        "livemode": False,
        "metadata": {},
        "number": "NORTH-0007",
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": "sub_1Qwebhook", "metadata": {}},
        },
        "period_end": 1777636800,
        "period_start": 1774958400,
        "status": "open",
        "status_transitions": {
            "finalized_at": 1777640400,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subtotal": 25000,
        "total": 25000,
        "total_pretax_credit_amounts": [],
        "webhooks_delivered_at": None,
    }


def test_customer_and_invoice_events_arrive_signed(receiver, api, run):
    endpoint = endpoint_for(receiver.url, ["customer.created", "invoice.finalized"])

    response = api.post("/v1/customers", {"email": "jenny.rosen@example.com"})
    customer_id = response.json()["id"]
    run(
        event_record, type="invoice.finalized", data_object=invoice_payload(customer_id)
    )

    created, finalized = (verified(item, endpoint.secret) for item in receiver.received)
    assert created.type == "customer.created"
    assert created.data.object.id == customer_id
    assert finalized.type == "invoice.finalized"
    assert finalized.data.object.amount_due == 25000
    assert finalized.data.object.lines.data[1].quantity == 150000
    headers = receiver.received[0].headers
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["User-Agent"] == "Tally/1.0 (+webhooks)"


def test_the_body_is_the_event_as_the_api_renders_it(receiver, api):
    endpoint_for(receiver.url, ["customer.created"])
    customer_id = api.post("/v1/customers", {"name": "Body"}).json()["id"]

    event = Event.objects.get(object_id=customer_id, type="customer.created")
    shown = api.get(f"/v1/events/{event.id}").json()
    sent = receiver.received[0].event
    assert sent["pending_webhooks"] == 1  # counted while it was being sent
    assert shown["pending_webhooks"] == 0
    assert {**sent, "pending_webhooks": 0} == shown
    assert sent["request"]["id"] is not None


def test_only_endpoints_listening_get_an_event(receiver, api):
    everything = endpoint_for(receiver.url)
    invoices = endpoint_for(receiver.url, ["invoice.finalized"])
    api.post("/v1/customers", {"name": "Only one"})

    assert WebhookDelivery.objects.filter(endpoint=everything).count() == 1
    assert not WebhookDelivery.objects.filter(endpoint=invoices).exists()
    assert len(receiver.received) == 1


def test_disabled_endpoints_get_nothing(receiver, api):
    endpoint = endpoint_for(receiver.url)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(status="disabled")
    api.post("/v1/customers", {"name": "Nobody listens"})
    assert receiver.received == []


def test_attempts_are_logged(receiver, api):
    receiver.answer = b"x" * 5000
    endpoint = endpoint_for(receiver.url)
    api.post("/v1/customers", {"name": "Logged"})

    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    (attempt,) = delivery.attempts.all()
    assert (delivery.status, delivery.attempt_count) == ("succeeded", 1)
    assert (attempt.number, attempt.succeeded, attempt.status_code) == (1, True, 200)
    assert attempt.duration_ms >= 0
    assert attempt.response_excerpt == "x" * 2048
    assert delivery.completed_at == attempt.attempted_at
    assert delivery.lease_token == ""


def test_500_three_times_then_200_is_four_attempts_with_growing_delays(
    receiver, api, run
):
    receiver.statuses = [500, 500, 500]
    endpoint = endpoint_for(receiver.url)
    api.post("/v1/customers", {"name": "Retried"})
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)

    for _ in range(3):
        delivery.refresh_from_db()
        assert delivery.status == "pending"
        due = delivery.next_attempt_at
        # Not yet due: the job sends nothing.
        early = due - timedelta(seconds=1)
        assert run(dispatch.deliveries_dispatch_due, now=early) == 0
        assert run(dispatch.deliveries_dispatch_due, now=due) == 1

    delivery.refresh_from_db()
    attempts = list(delivery.attempts.all())
    assert [attempt.status_code for attempt in attempts] == [500, 500, 500, 200]
    assert len(receiver.received) == 4
    assert {verified(item, endpoint.secret).id for item in receiver.received} == {
        delivery.event_id
    }
    delays = [
        b.attempted_at - a.attempted_at
        for a, b in zip(attempts, attempts[1:], strict=False)
    ]
    assert delays == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30)]
    assert delivery.status == "succeeded"
    assert delivery.next_attempt_at is None
    assert "HTTP 500" in attempts[0].error


def test_a_hanging_receiver_does_not_hold_up_the_api(receiver, api, queued, settings):
    receiver.hold = True
    endpoint = endpoint_for(receiver.url)

    response = api.post("/v1/customers", {"name": "Fast"})

    # The request is answered with the send only queued, not attempted.
    assert response.status_code == 200
    assert receiver.received == []
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempt_count) == ("pending", 0)
    assert len(queued) == 1
    # The worker waits for the receiver until its read timeout, then gives up.
    settings.TALLY_WEBHOOK_READ_TIMEOUT = 0.2
    work(queued)
    receiver.release.set()
    delivery.refresh_from_db()
    assert len(receiver.received) == 1
    assert delivery.attempt_count == 1
    assert delivery.attempts.get().error.startswith("Timed out reading")
    assert delivery.next_attempt_at is not None


def create_then_fail(name: str) -> None:
    with transaction.atomic():
        customer_create(params={"name": name})
        raise RuntimeError("roll back")


def test_nothing_is_delivered_for_a_rolled_back_transaction(
    receiver, django_capture_on_commit_callbacks
):
    endpoint_for(receiver.url)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            create_then_fail("Never")
    assert callbacks == []
    assert not WebhookDelivery.objects.exists()
    assert receiver.received == []


@pytest.mark.django_db(transaction=True)
def test_delivery_waits_for_a_real_commit(receiver):
    endpoint = endpoint_for(receiver.url)
    with pytest.raises(RuntimeError):
        create_then_fail("Rolled back")
    assert receiver.received == []

    with transaction.atomic():
        customer = customer_create(params={"name": "Committed"})
        assert receiver.received == []  # not before the commit
    (received,) = receiver.received
    assert verified(received, endpoint.secret).data.object.id == customer.id


def test_a_duplicate_enqueue_sends_once(receiver, run, queued):
    endpoint = endpoint_for(receiver.url)
    event = run(event_record, type="customer.created", data_object={"id": "cus_x"})
    # The hook ran once on commit; a second fan-out (a retried hook) adds nothing.
    run(dispatch.event_fanout, event_id=event.id, now=clock.now())
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 1
    assert len(queued) == 1
    # The broker hands the same task out twice (acks_late after a worker crash).
    job = queued[0]
    work([job, job])
    assert len(receiver.received) == 1
    assert WebhookDelivery.objects.get().attempt_count == 1


def test_a_lost_task_is_sent_again_after_its_lease(receiver, run, queued):
    endpoint_for(receiver.url)
    event = run(event_record, type="customer.created", data_object={"id": "cus_y"})
    queued.clear()  # the worker died with the task
    delivery = WebhookDelivery.objects.get(event=event)

    run(dispatch.deliveries_dispatch_due, now=clock.now())
    assert queued == []  # still leased
    later = delivery.leased_until + timedelta(seconds=1)
    assert run(dispatch.deliveries_dispatch_due, now=later) == 1
    work(queued)
    assert len(receiver.received) == 1


def test_events_reach_an_endpoint_in_commit_order(receiver, run, queued):
    endpoint = endpoint_for(receiver.url)
    ids = [
        run(event_record, type="customer.created", data_object={"id": f"cus_{n}"}).id
        for n in range(4)
    ]
    # One first attempt at a time while the endpoint is healthy.
    assert len(queued) == 1
    work(queued)
    assert [event["id"] for event in receiver.events()] == ids
    assert set(
        WebhookDelivery.objects.filter(endpoint=endpoint).values_list(
            "status", flat=True
        )
    ) == {"succeeded"}


def test_a_later_event_waits_while_an_earlier_one_is_unsent(receiver, run, queued):
    endpoint_for(receiver.url)
    first = run(event_record, type="customer.created", data_object={"id": "cus_1"})
    second = run(event_record, type="customer.created", data_object={"id": "cus_2"})
    later = WebhookDelivery.objects.get(event=second)
    # A stray lease on the later delivery (say, the Beat job raced the hook).
    dispatch.claim([later.pk], now=clock.now())
    later.refresh_from_db()
    tasks.webhook_delivery_send_task(later.pk, later.lease_token)
    assert receiver.received == []  # held back, lease given up
    later.refresh_from_db()
    assert later.leased_until is None

    work(queued)
    assert [event["id"] for event in receiver.events()] == [first.id, second.id]


def test_a_failing_endpoint_gets_its_events_side_by_side(receiver, run, queued):
    endpoint = endpoint_for(receiver.url)
    receiver.statuses = [503]
    run(event_record, type="customer.created", data_object={"id": "cus_a"})
    for n in range(3):
        run(event_record, type="customer.created", data_object={"id": f"cus_{n}"})
    work(queued[:1])  # the first attempt fails: the endpoint is failing now
    del queued[:1]
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    # No more waiting in line: the three others were all dispatched at once.
    assert len(queued) == 3
    work(queued)
    assert len(receiver.received) == 4


def test_a_success_ends_the_failure_streak(receiver, api, run):
    receiver.statuses = [500]
    endpoint = endpoint_for(receiver.url)
    api.post("/v1/customers", {"name": "Flaky"})
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    due = WebhookDelivery.objects.get().next_attempt_at
    run(dispatch.deliveries_dispatch_due, now=due)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_retries_stop_after_three_days(receiver, api, run, settings):
    settings.TALLY_WEBHOOK_DISABLE_AFTER = timedelta(days=30)  # keep it enabled
    receiver.statuses = [500] * 50
    endpoint = endpoint_for(receiver.url)
    api.post("/v1/customers", {"name": "Gone"})
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    while delivery.status == "pending":
        run(dispatch.deliveries_dispatch_due, now=delivery.next_attempt_at)
        delivery.refresh_from_db()

    attempts = list(delivery.attempts.values_list("attempted_at", flat=True))
    assert delivery.status == "failed"
    assert attempts[-1] - attempts[0] == timedelta(days=3)
    delays = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
    assert delays[:6] == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=5),
        timedelta(hours=10),
    ]
    assert max(delays) == timedelta(hours=10)
    # 0, 1m, 6m, 36m, 2h36, 7h36, then every 10 h to 67h36, and 72 h.
    assert len(attempts) == len(receiver.received) == 13


def test_an_endpoint_failing_for_three_days_is_disabled_and_staff_emailed(
    receiver, api, run, settings, mailoutbox
):
    settings.STAFF_NOTIFICATION_EMAILS = ["ops@tally.example"]
    receiver.statuses = [500] * 50
    endpoint = endpoint_for(receiver.url, description="ERP sync")
    api.post("/v1/customers", {"name": "First"})
    first = WebhookDelivery.objects.get(endpoint=endpoint)
    # A later event that is still waiting for its retry when the endpoint goes.
    run(event_record, type="customer.created", data_object={"id": "cus_late"})
    while first.status == "pending":
        run(dispatch.deliveries_dispatch_due, now=first.next_attempt_at)
        first.refresh_from_db()

    endpoint.refresh_from_db()
    assert (endpoint.status, endpoint.disabled_reason) == ("disabled", "failing")
    assert endpoint.disabled_at - endpoint.failing_since == timedelta(days=3)
    statuses = set(endpoint.deliveries.values_list("status", flat=True))
    assert statuses <= {"failed", "canceled"}
    (email,) = mailoutbox
    assert email.to == ["ops@tally.example"]
    assert endpoint.url in email.subject
    assert "ERP sync" in email.body
    assert endpoint.url in email.alternatives[0][0]


def test_the_reconcile_job_fans_out_an_event_the_hook_missed(receiver, run):
    endpoint = endpoint_for(receiver.url)
    # As if the process died between the commit and the after-commit hook.
    event = Event.objects.create(
        type="customer.created", api_version="x", data={"object": {"id": "cus_z"}}
    )
    assert run(dispatch.fanout_reconcile, now=clock.now()) == 0  # too fresh yet
    later = clock.now() + timedelta(minutes=2)
    assert run(dispatch.fanout_reconcile, now=later) == 1
    assert run(dispatch.fanout_reconcile, now=later) == 0
    (received,) = receiver.received
    assert verified(received, endpoint.secret).id == event.id


def test_an_endpoint_added_later_gets_only_later_events(receiver, run):
    run(event_record, type="customer.created", data_object={"id": "cus_before"})
    endpoint_for(receiver.url)
    assert run(dispatch.fanout_reconcile, now=clock.now() + timedelta(minutes=2)) == 0
    assert receiver.received == []


@pytest.mark.django_db(transaction=True)
def test_the_retry_job_run_twice_in_parallel_sends_each_retry_once(receiver):
    import threading

    receiver.statuses = [500] * 6
    endpoint = endpoint_for(receiver.url)
    for n in range(6):
        customer_create(params={"name": f"Parallel {n}"})
    assert len(receiver.received) == 6  # all failed once (side by side)
    due = max(WebhookDelivery.objects.values_list("next_attempt_at", flat=True))

    errors = []

    def job():
        try:
            dispatch.deliveries_dispatch_due(now=due)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    dispatch.deliveries_dispatch_due(now=due)  # and once more, afterwards

    assert errors == []
    assert len(receiver.received) == 12
    attempts = WebhookDelivery.objects.filter(endpoint=endpoint).values_list(
        "attempt_count", "status"
    )
    assert sorted(attempts) == [(2, "succeeded")] * 6


def test_order_can_be_traded_for_throughput(
    receiver, run, queued, settings, monkeypatch
):
    settings.TALLY_WEBHOOK_ORDERED = False
    monkeypatch.setattr(
        dispatch.lanes, "LANE_BLOCK", 1
    )  # each delivery in the next lane
    endpoint_for(receiver.url)
    for n in range(3):
        run(event_record, type="customer.created", data_object={"id": f"cus_{n}"})
    assert len(queued) == 3  # three lanes at once, not one after another
    work(queued)
    assert len(receiver.received) == 3


def test_no_lost_wake_up_when_a_lane_empties_and_fills_again(receiver, run, queued):
    endpoint_for(receiver.url)
    first = run(event_record, type="customer.created", data_object={"id": "cus_1"})
    work(queued)  # sent; its worker found the lane empty and stopped
    second = run(event_record, type="customer.created", data_object={"id": "cus_2"})
    # Nobody sends the lane: the fan-out found its head free and started it ...
    assert len(queued) == 1
    third = run(event_record, type="customer.created", data_object={"id": "cus_3"})
    # ... and now that it is being sent, the next event waits for that worker.
    assert len(queued) == 1
    work(queued)
    assert [event["id"] for event in receiver.events()] == [
        first.id,
        second.id,
        third.id,
    ]
