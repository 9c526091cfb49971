"""Broker down: the API keeps answering, nothing accepted is lost, jobs catch up.

The Celery app is pointed at a port where nothing listens (Redis stopped), and
tasks are not run in-process: queueing fails as in production. Every request that
would queue work answers as usual and stores what it accepted; the failure is
logged. Once the broker is back, the Beat jobs (the safety nets) find the due work
in the database: the advance resumes and finishes, the webhook is delivered.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.test import TestCase
from kombu.exceptions import OperationalError

from config.celery import app as celery_app
from core import clock, queue, tasks
from core.models import TestClock, WebhookDelivery
from core.webhooks import dispatch
from metering.models import MeterEvent
from tests.core.test_webhook_signing import endpoint_for, serving

DEAD_BROKER = "redis://127.0.0.1:9/0"  # the discard port: nothing answers there
T0 = datetime(2026, 5, 1, tzinfo=UTC)


def _fresh_connections() -> None:
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    queue.broker_retry_now()


class Broker:
    """Switch between the dead broker and a working one (eager tasks).

    The write URL is the one queueing uses; ``broker_url`` itself would lose to the
    ``CELERY_BROKER_URL`` environment variable, which Celery reads first.
    """

    def __init__(self) -> None:
        conf = celery_app.conf
        self.saved = (conf.task_always_eager, conf.broker_write_url)

    def down(self) -> None:
        celery_app.conf.task_always_eager = False
        celery_app.conf.broker_write_url = DEAD_BROKER
        _fresh_connections()

    def back(self) -> None:
        celery_app.conf.task_always_eager = self.saved[0]
        celery_app.conf.broker_write_url = None
        _fresh_connections()


@pytest.fixture
def broker():
    switch = Broker()
    switch.down()
    yield switch
    switch.back()


@pytest.fixture
def receiver():
    yield from serving()


def _meter_and_customer(api) -> tuple[str, str]:
    customer = api.post("/v1/customers", {"name": "Jenny"}).json()["id"]
    api.post(
        "/v1/billing/meters",
        {
            "display_name": "Tokens",
            "event_name": "tokens",
            "default_aggregation": {"formula": "sum"},
        },
    )
    return "tokens", customer


def test_ingestion_stores_and_acknowledges_while_the_broker_is_down(
    broker, api, caplog
):
    event_name, customer = _meter_and_customer(api)
    started = time.monotonic()
    for number in range(5):
        response = api.post(
            "/v1/billing/meter_events",
            {
                "event_name": event_name,
                "identifier": f"down-{number}",
                "payload": {"stripe_customer_id": customer, "value": "3"},
            },
        )
        assert response.status_code == 200, response.content
    assert time.monotonic() - started < 10
    assert MeterEvent.objects.filter(identifier__startswith="down-").count() == 5
    assert "Could not queue the usage evaluation" in caplog.text
    assert api.get("/v1/customers").status_code == 200


def test_an_advance_accepted_while_down_finishes_once_the_broker_is_back(
    broker, api, caplog
):
    clock_id = api.post(
        "/v1/test_helpers/test_clocks", {"frozen_time": int(T0.timestamp())}
    ).json()["id"]
    target = int((T0 + timedelta(days=3)).timestamp())
    response = api.post(
        f"/v1/test_helpers/test_clocks/{clock_id}/advance", {"frozen_time": target}
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "advancing"
    assert "Could not queue the advance" in caplog.text

    broker.back()
    assert tasks.test_clocks_resume_stale_task() == 0  # its lease still runs
    # The lease lapses (TALLY_TEST_CLOCK_ADVANCE_LEASE after the request).
    TestClock.objects.filter(pk=clock_id).update(
        advance_leased_until=clock.now() - timedelta(seconds=1)
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert tasks.test_clocks_resume_stale_task() == 1
    test_clock = TestClock.objects.get(pk=clock_id)
    assert test_clock.status == TestClock.Status.READY
    assert int(test_clock.frozen_time.timestamp()) == target


def test_an_event_while_down_is_delivered_once_the_broker_is_back(
    broker, api, receiver, caplog
):
    endpoint_for(receiver.url)
    response = api.post("/v1/customers", {"name": "Jenny"})
    assert response.status_code == 200, response.content
    delivery = WebhookDelivery.objects.get(event__type="customer.created")
    assert delivery.status == "pending"
    assert "Could not queue webhook" in caplog.text
    assert receiver.received == []

    broker.back()
    later = (delivery.leased_until or clock.now()) + timedelta(seconds=1)
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert dispatch.deliveries_dispatch_due(now=later) == 1
    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"


def test_enqueue_refuses_at_once_after_a_failure(broker):
    with pytest.raises(OperationalError):
        queue.enqueue("email_send", 1)
    with pytest.raises(queue.BrokerUnavailable):
        queue.enqueue("email_send", 1)
    # "At once": the broker is not tried again (no wall-clock bound, which a garbage
    # collection in a long test run can break).
    tried = []
    with pytest.raises(queue.BrokerUnavailable):
        queue.send_guarded(lambda: tried.append("sent"), what="email_send")
    assert tried == []
