"""Resend, test events, secret rolling and the settled-deliveries selector."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import clock
from core.errors import InvalidRequest, InvalidState
from core.models import Event, WebhookDelivery
from core.selectors import webhook_deliveries_settled
from core.services import webhooks
from core.services.events import event_record
from core.webhooks import dispatch, policy
from tests.core.test_webhook_signing import endpoint_for, serving, verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    yield from serving()


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def call(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return call


def record(run, event_type="customer.created", object_id="cus_1"):
    return run(event_record, type=event_type, data_object={"id": object_id})


def test_resend_a_delivered_event(receiver, run):
    endpoint = endpoint_for(receiver.url)
    event = record(run)
    delivery = WebhookDelivery.objects.get(event=event)

    run(webhooks.webhook_delivery_resend, delivery=delivery, now=clock.now())

    delivery.refresh_from_db()
    assert [item.event["id"] for item in receiver.received] == [event.id, event.id]
    assert verified(receiver.received[1], endpoint.secret).id == event.id
    assert (delivery.status, delivery.attempt_count) == ("succeeded", 2)


def test_resend_a_delivery_that_gave_up(receiver, run, settings):
    settings.TALLY_WEBHOOK_RETRY_FOR = timedelta(0)  # give up after one attempt
    receiver.statuses = [500]
    endpoint_for(receiver.url)
    delivery = WebhookDelivery.objects.get(event=record(run))
    assert delivery.status == "failed"

    run(webhooks.webhook_delivery_resend, delivery=delivery, now=clock.now())
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == ("succeeded", 2)


def test_resend_needs_an_enabled_endpoint(receiver, run):
    endpoint = endpoint_for(receiver.url)
    delivery = WebhookDelivery.objects.get(event=record(run))
    webhooks.webhook_endpoint_update(
        endpoint=endpoint, params={"disabled": True}, now=clock.now()
    )
    with pytest.raises(InvalidState):
        webhooks.webhook_delivery_resend(delivery=delivery, now=clock.now())


def test_a_test_event_goes_to_that_endpoint_only(receiver, run):
    target = endpoint_for(receiver.url)
    other = endpoint_for(receiver.url)

    delivery = run(
        webhooks.webhook_endpoint_send_test, endpoint=target, now=clock.now()
    )

    (received,) = receiver.received
    event = verified(received, target.secret)
    assert event.type == policy.TEST_EVENT_TYPE
    assert event.data.object.id == target.id
    assert "secret" not in event.data.object
    assert not WebhookDelivery.objects.filter(endpoint=other).exists()
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    # "*" never matches a test event, even when fanned out again.
    assert run(dispatch.event_fanout, event_id=delivery.event_id, now=clock.now()) == 0


def test_a_disabled_endpoint_cannot_be_tested(receiver):
    endpoint = endpoint_for(receiver.url)
    webhooks.webhook_endpoint_update(
        endpoint=endpoint, params={"disabled": True}, now=clock.now()
    )
    with pytest.raises(InvalidState):
        webhooks.webhook_endpoint_send_test(endpoint=endpoint, now=clock.now())


@pytest.mark.parametrize("hours", [0, 1, 24])
def test_roll_secret(receiver, run, hours):
    endpoint = endpoint_for(receiver.url)
    old = endpoint.secret
    now = clock.now()
    rolled = webhooks.webhook_endpoint_roll_secret(
        endpoint=endpoint, keep_previous_for=timedelta(hours=hours), now=now
    )
    assert rolled.secret.startswith("whsec_")
    assert rolled.secret != old
    record(run)
    header = receiver.received[0].headers["Stripe-Signature"]
    assert header.count("v1=") == (2 if hours else 1)
    verified(receiver.received[0], rolled.secret)
    if hours:
        verified(receiver.received[0], old)
        assert rolled.previous_secret_expires_at == now + timedelta(hours=hours)


def test_roll_secret_overlap_is_at_most_a_day(receiver):
    endpoint = endpoint_for(receiver.url)
    with pytest.raises(InvalidRequest):
        webhooks.webhook_endpoint_roll_secret(
            endpoint=endpoint, keep_previous_for=timedelta(hours=25), now=clock.now()
        )


def test_deleting_an_endpoint_takes_its_deliveries(receiver, run):
    endpoint = endpoint_for(receiver.url)
    record(run)
    webhooks.webhook_endpoint_delete(endpoint=endpoint)
    assert not WebhookDelivery.objects.exists()
    assert Event.objects.count() == 1


class TestSettled:
    def test_no_events_and_no_endpoints(self, run):
        event = record(run)
        assert webhook_deliveries_settled(event_ids=[], now=clock.now())
        assert webhook_deliveries_settled(event_ids=[event.id], now=clock.now())

    def test_pending_is_not_settled_then_delivered_is(self, receiver, run):
        receiver.statuses = [500]
        endpoint_for(receiver.url)
        event = record(run)
        assert not webhook_deliveries_settled(event_ids=[event.id], now=clock.now())
        due = WebhookDelivery.objects.get().next_attempt_at
        run(dispatch.deliveries_dispatch_due, now=due)
        assert webhook_deliveries_settled(event_ids=[event.id], now=due)

    def test_given_up_and_canceled_are_settled(self, receiver, run, settings):
        settings.TALLY_WEBHOOK_RETRY_FOR = timedelta(0)
        receiver.statuses = [500]
        endpoint = endpoint_for(receiver.url)
        failed = record(run, object_id="cus_failed")
        assert WebhookDelivery.objects.get(event=failed).status == "failed"
        settings.TALLY_WEBHOOK_RETRY_FOR = timedelta(days=3)
        receiver.statuses = [500]
        canceled = record(run, object_id="cus_canceled")
        webhooks.webhook_endpoint_update(
            endpoint=endpoint, params={"disabled": True}, now=clock.now()
        )
        assert WebhookDelivery.objects.get(event=canceled).status == "canceled"
        ids = [failed.id, canceled.id]
        assert webhook_deliveries_settled(event_ids=ids, now=clock.now())

    def test_an_event_awaiting_its_fan_out_is_not_settled(self, receiver, run):
        endpoint_for(receiver.url, ["invoice.finalized"])
        event = Event.objects.create(  # committed, the after-commit hook not yet run
            type="invoice.finalized", api_version="x", data={"object": {}}
        )
        ignored = Event.objects.create(
            type="customer.created", api_version="x", data={"object": {}}
        )
        now = clock.now()
        assert not webhook_deliveries_settled(event_ids=[event.id], now=now)
        assert webhook_deliveries_settled(event_ids=[ignored.id], now=now)
        run(dispatch.event_fanout, event_id=event.id, now=now)
        assert webhook_deliveries_settled(event_ids=[event.id], now=now)
