"""Batched first attempts: lanes, claims, writes per attempt, hand-overs, keep-alive."""

# The delivery tests' fixtures (run, queued) are imported, then requested by name.
# ruff: noqa: F811

from __future__ import annotations

import http.client
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from core import clock
from core.models import WebhookDelivery, WebhookDeliveryAttempt
from core.services.events import event_build, event_record, events_record
from core.webhooks import dispatch, registry, sending, transport
from core.webhooks.recording import Send, successes_record_then_claim
from tests.core.test_webhook_delivery import SEND_TASKS, queued, run, work  # noqa: F401
from tests.core.test_webhook_signing import Receiver, endpoint_for, serving

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    yield from serving()


def record(run, count: int, start: int = 0) -> list[str]:
    return [
        run(event_record, type="customer.created", data_object={"id": f"cus_{n}"}).id
        for n in range(start, start + count)
    ]


def arrived(receiver) -> list[str]:
    return [event["id"] for event in receiver.events()]


def test_one_task_sends_a_backlog_in_order_a_batch_at_a_time(
    receiver, run, queued, settings
):
    settings.TALLY_WEBHOOK_BATCH_SIZE = 5
    endpoint_for(receiver.url)
    ids = record(run, 12)
    # The first event started the lane; the others wait for its worker.
    assert [task for task, args in queued] == [SEND_TASKS[1]]
    task, args = queued.pop()
    with CaptureQueriesContext(connection) as queries:
        assert task(*args) == 12
    assert arrived(receiver) == ids
    assert queued == []
    statements = [query["sql"] for query in queries]

    def count(prefix: str) -> int:
        return sum(sql.startswith(prefix) for sql in statements)

    # Per batch (1, then 5, 5, 1): one read to load it, and its successes written
    # together (on PostgreSQL one statement for the deliveries and their attempt
    # rows; elsewhere an UPDATE and an attempt row each). The first batch, leased
    # by the fan-out, is taken over by one UPDATE; the next ones the worker claims
    # as its own: on PostgreSQL in the statement that writes the batch before
    # (then the last finds the lane empty, and one more claim, after that commit,
    # makes sure); elsewhere three reads (the endpoint, the lane's head, locked,
    # and the batch) and an update, two reads for the empty lane. Nothing is read
    # or written per attempt.
    if connection.vendor == "postgresql":
        assert count("WITH v (id, token, number, at, status_code, duration_ms,") == 4
        assert sum("head AS (" in sql for sql in statements) == 4 + 1
        assert count("WITH head AS (") == 1
        assert count('UPDATE "core_webhookdelivery"') == 1
        assert count("SELECT") == 4
    else:
        assert count('INSERT INTO "core_webhookdeliveryattempt"') == 12
        assert count('UPDATE "core_webhookdelivery"') == 12 + 1 + 3
        assert count("SELECT") == 4 + 3 * 3 + 2
    delivery = WebhookDelivery.objects.order_by("id").last()
    assert (delivery.status, delivery.attempt_count, delivery.lease_token) == (
        "succeeded",
        1,
        "",
    )
    attempt = delivery.attempts.get()
    assert (attempt.number, attempt.succeeded, attempt.status_code) == (1, True, 200)


def test_a_lane_worker_hands_over_after_its_time_budget(
    receiver, run, queued, monkeypatch
):
    monkeypatch.setattr(sending, "BATCH_BUDGET", timedelta(0))
    endpoint_for(receiver.url)
    ids = record(run, 4)
    tasks_run = 0
    while queued:
        tasks_run += 1
        work([queued.pop(0)])
    # Each task sent one event, then passed the rest, still leased, to the next.
    assert tasks_run == 4
    assert arrived(receiver) == ids


def test_a_failure_mid_batch_releases_the_rest_side_by_side(receiver, run, queued):
    receiver.statuses = [200, 503]
    endpoint = endpoint_for(receiver.url)
    ids = record(run, 4)
    work([queued.pop()])  # 1 sent, then 2 failed: the endpoint is failing now
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    assert arrived(receiver) == ids[:2]
    # The rest of the batch was given back, then leased one by one.
    assert [task for task, args in queued] == [SEND_TASKS[0]] * 2
    work(queued)
    assert sorted(arrived(receiver)[2:]) == sorted(ids[2:])
    failed = WebhookDelivery.objects.get(event_id=ids[1])
    assert (failed.status, failed.attempt_count) == ("pending", 1)
    assert failed.next_attempt_at is not None
    assert failed.lease_token == ""


def test_unordered_endpoints_send_their_lanes_side_by_side(
    receiver, run, queued, settings, monkeypatch
):
    settings.TALLY_WEBHOOK_ORDERED = False
    settings.TALLY_WEBHOOK_LANES = 2
    monkeypatch.setattr(dispatch.lanes, "LANE_BLOCK", 2)
    endpoint_for(receiver.url)
    ids = record(run, 6)
    # Two lanes (blocks of two ids, taking turns), each started by its first event.
    lanes = sorted(args[1] for task, args in queued)
    assert lanes == [0, 1]
    work(queued)
    assert sorted(arrived(receiver)) == sorted(ids)
    deliveries = WebhookDelivery.objects.order_by("id")
    lane_of = {row.event_id: dispatch.lane_of(row.id, 2) for row in deliveries}
    for lane in (0, 1):
        in_lane = [event_id for event_id in ids if lane_of[event_id] == lane]
        assert [e for e in arrived(receiver) if lane_of[e] == lane] == in_lane


def test_a_batch_is_not_taken_twice(receiver, run, queued):
    endpoint = endpoint_for(receiver.url)
    record(run, 3)
    # While the lane is leased, nobody else can claim it.
    assert dispatch.lane_claim(endpoint_id=endpoint.pk, lane=0, now=clock.now()) is None
    task, args = queued.pop()
    assert task(*args) == 3
    assert task(*args) == 0  # the broker hands the same task out again
    assert len(receiver.received) == 3
    assert WebhookDeliveryAttempt.objects.count() == 3


def test_a_failing_endpoint_has_no_lanes(receiver, run, queued):
    endpoint = endpoint_for(receiver.url)
    endpoint.failing_since = clock.now()
    endpoint.save(update_fields=["failing_since"])
    record(run, 3)
    assert dispatch.lane_claim(endpoint_id=endpoint.pk, lane=0, now=clock.now()) is None
    assert [task for task, args in queued] == [SEND_TASKS[0]] * 3


def test_connections_are_kept_alive_between_attempts():
    receiver = Receiver(keep_alive=True).start()
    try:
        for _ in range(5):
            outcome = transport.post(url=receiver.url, body=b"{}", headers={})
            assert outcome.succeeded
    finally:
        receiver.stop()
    assert receiver.connections == 1
    assert len(receiver.received) == 5


def test_a_request_goes_out_in_one_write(monkeypatch):
    """Head and body in one write: the receiver wakes once per delivery."""
    writes: list[bytes] = []
    real_send = http.client.HTTPConnection.send

    def send(connection, data):
        writes.append(bytes(data))
        real_send(connection, data)

    monkeypatch.setattr(http.client.HTTPConnection, "send", send)
    receiver = Receiver(keep_alive=True).start()
    try:
        for _ in range(2):
            outcome = transport.post(
                url=receiver.url, body=b'{"id": "evt_1"}', headers={}
            )
            assert outcome.succeeded
    finally:
        receiver.stop()
    assert len(writes) == 2
    assert all(write.startswith(b"POST /webhooks") for write in writes)
    assert all(write.endswith(b'\r\n\r\n{"id": "evt_1"}') for write in writes)
    assert [r.body for r in receiver.received] == [b'{"id": "evt_1"}'] * 2


def test_a_worker_claims_its_next_batch_as_being_sent(receiver, run, queued):
    endpoint = endpoint_for(receiver.url)
    record(run, 3)
    WebhookDelivery.objects.update(lease_token="", leased_until=None)  # a lost task
    token, ids = dispatch.lane_claim(
        endpoint_id=endpoint.pk, lane=0, now=clock.now(), sending=True
    )
    rows = WebhookDelivery.objects.filter(pk__in=ids)
    assert sorted(rows.values_list("id", flat=True)) == ids
    assert len(ids) == 3
    assert {(row.lease_token, row.sending_since is not None) for row in rows} == {
        (token, True)
    }
    # Leased and being sent: nobody else takes the lane.
    assert dispatch.lane_claim(endpoint_id=endpoint.pk, lane=0, now=clock.now()) is None


def test_a_claim_skips_deliveries_no_longer_waiting(receiver, run, queued):
    endpoint = endpoint_for(receiver.url)
    record(run, 3)
    first, *rest = WebhookDelivery.objects.order_by("id")
    WebhookDelivery.objects.update(lease_token="", leased_until=None)
    # The head was sent meanwhile (say, as a resend): only the others are claimed.
    WebhookDelivery.objects.filter(pk=first.pk).update(status="succeeded")
    _, ids = dispatch.lane_claim(endpoint_id=endpoint.pk, lane=0, now=clock.now())
    assert ids == [row.pk for row in rest]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not settings.IS_POSTGRES, reason="row locks need PostgreSQL")
def test_two_workers_on_one_lane_send_each_event_once_in_order(
    receiver, queued, settings
):
    settings.TALLY_WEBHOOK_BATCH_SIZE = 3
    endpoint = endpoint_for(receiver.url)
    ids = [
        event_record(type="customer.created", data_object={"id": f"cus_{n}"}).id
        for n in range(30)
    ]
    (first,) = queued
    errors: list[Exception] = []

    def worker(job):
        try:
            deadline = clock.now() + timedelta(seconds=30)
            if job is not None:  # the queued task: its batch, then the next ones
                job[0](*job[1])
            while clock.now() < deadline and len(receiver.received) < len(ids):
                # Another worker (say, the Beat job's) trying to take the lane.
                claimed = dispatch.lane_claim(
                    endpoint_id=endpoint.pk, lane=0, now=clock.now()
                )
                if claimed is not None:
                    token, batch = claimed
                    sending.lane_send(
                        endpoint_id=endpoint.pk,
                        lane=0,
                        lease_token=token,
                        delivery_ids=batch,
                        now=clock.now(),
                    )
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(job,)) for job in (first, None)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert arrived(receiver) == ids
    assert WebhookDeliveryAttempt.objects.count() == len(ids)


def test_events_recorded_together_fan_out_with_one_insert(receiver, queued):
    endpoint_for(receiver.url)
    recorded = events_record(
        events=[
            event_build(type="customer.created", data_object={"id": f"cus_{n}"})
            for n in range(5)
        ]
    )
    with (
        CaptureQueriesContext(connection) as queries,
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        registry.deliver_many_after_commit([event.id for event in recorded])
    inserts = [q["sql"] for q in queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    # One lane task gets the five, in the order they were recorded.
    ((task, args),) = queued
    assert len(args[3]) == 5
    work(queued)
    assert arrived(receiver) == [event.id for event in recorded]


def test_the_recording_statement_claims_the_next_batch_only_if_all_were_written(
    receiver, run, queued, settings
):
    if connection.vendor != "postgresql":
        pytest.skip("the claim joins the recording statement on PostgreSQL only")
    settings.TALLY_WEBHOOK_BATCH_SIZE = 2
    endpoint = endpoint_for(receiver.url)
    record(run, 4)
    WebhookDelivery.objects.update(lease_token="", leased_until=None)  # lost tasks
    token, ids = dispatch.lane_claim(
        endpoint_id=endpoint.pk, lane=0, now=clock.now(), sending=True
    )
    outcome = transport.Outcome(
        succeeded=True, status_code=200, duration_ms=1, excerpt="", error=""
    )

    def sends(lease_token: str) -> list:
        return [
            (Send(delivery_id, endpoint, lease_token, clock.now(), 0), outcome)
            for delivery_id in ids
        ]

    def claim(only_if):
        return dispatch.next_claim_ctes(
            endpoint_id=endpoint.pk, lane=0, now=clock.now(), after=ids, only_if=only_if
        )

    rest = WebhookDelivery.objects.exclude(pk__in=ids)
    # A lease lost meanwhile: nothing written, so the lane is not claimed either.
    lost, claimed = successes_record_then_claim(sends("not-ours"), claim)
    assert (len(lost), claimed) == (2, None)
    assert set(rest.values_list("lease_token", flat=True)) == {""}
    lost, claimed = successes_record_then_claim(sends(token), claim)
    assert lost == []
    next_token, next_ids = claimed
    assert sorted(rest.values_list("id", flat=True)) == next_ids
    assert {(row.lease_token, row.sending_since is not None) for row in rest} == {
        (next_token, True)
    }
