"""Usage acted on as it arrives: the watermark, out-of-order commits, the trigger."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.db import connections, transaction

from alerts import receivers
from alerts.models import Alert, AlertCursor, AlertTrigger
from alerts.services import usage_changes_evaluate
from alerts.services.progress import alert_progress
from alerts.services.usage_limits import usage_limit_create
from billing.models import Invoice
from billing.services import subscription_create
from core.models import Event
from metering.models import MeterEvent
from metering.services import meter_event_cancel
from metering.storage.watermark import events_settled_through
from tests.alerts.factories import (
    T0,
    CustomerFactory,
    MeterFactory,
    PriceFactory,
    TestClockFactory,
    make_alert,
    report,
)
from tests.alerts.limits_helpers import d, features_of, make_plan, subscribe, summaries

MINUTE = timedelta(minutes=1)
postgres_only = pytest.mark.skipif(
    not settings.IS_POSTGRES,
    reason="concurrent writers need PostgreSQL (SQLite takes one writer at a time)",
)


@pytest.fixture
def meter(db):
    return MeterFactory(display_name="API tokens", event_name="api_tokens")


@pytest.fixture
def customer(db):
    return CustomerFactory(name="Jenny Rosen", email="jenny@example.com")


def progress() -> int:
    """The usage counted towards the filtered alerts that have not fired."""
    return sum(
        int(alert_progress(alert=alert, customer_id=alert.customer_id) or 0)
        for alert in Alert.objects.filter(customer__isnull=False, triggers=None)
    )


def test_the_watermark_reaches_the_last_event_when_no_writer_is_open(meter, customer):
    report(meter=meter, customer=customer, value=5)
    # Ids that rolled-back transactions drew may lie above the last stored one.
    assert events_settled_through(wait_seconds=0) >= _last_id()


def _last_id() -> int | None:
    return MeterEvent.objects.order_by("-id").values_list("id", flat=True).first()


class OpenIngestion(threading.Thread):
    """Records one event in a transaction that stays open until ``commit()``."""

    def __init__(self, meter, customer, value: int) -> None:
        super().__init__(daemon=True)
        self.meter, self.customer, self.value = meter, customer, value
        self.inserted = threading.Event()
        self._commit = threading.Event()

    def run(self) -> None:
        try:
            with transaction.atomic():
                report(meter=self.meter, customer=self.customer, value=self.value)
                self.inserted.set()
                self._commit.wait(10)
        finally:
            connections.close_all()

    def commit(self) -> None:
        self._commit.set()
        self.join(10)


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("usage_evaluated_by_jobs_only")
def test_a_later_event_committing_first_does_not_skip_the_earlier_one(
    meter, customer, settings
):
    settings.TALLY_USAGE_SETTLE_WAIT = 0.05
    make_alert(meter=meter, customer=customer, gte=100)
    first = OpenIngestion(meter, customer, 60)
    first.start()
    assert first.inserted.wait(10)
    report(meter=meter, customer=customer, value=50)  # a higher id, committed first
    assert MeterEvent.objects.count() == 1

    # The earlier event's transaction is open: nothing is counted past it.
    assert usage_changes_evaluate(now=T0 + MINUTE) == 0
    assert progress() == 0
    first.commit()
    assert usage_changes_evaluate(now=T0 + MINUTE) == 1
    assert [int(t.value) for t in AlertTrigger.objects.all()] == [110]


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("usage_evaluated_by_jobs_only")
def test_a_run_waits_for_an_open_ingestion_then_counts_both(meter, customer, settings):
    settings.TALLY_USAGE_SETTLE_WAIT = 10
    make_alert(meter=meter, customer=customer, gte=1_000)
    first = OpenIngestion(meter, customer, 60)
    first.start()
    assert first.inserted.wait(10)
    report(meter=meter, customer=customer, value=50)
    threading.Timer(0.3, first.commit).start()
    usage_changes_evaluate(now=T0 + MINUTE)
    assert progress() == 110
    assert AlertCursor.objects.get().event_id >= _last_id()


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("usage_evaluated_by_jobs_only")
def test_concurrent_ingestion_and_runs_count_every_event_once(
    meter, customer, settings
):
    settings.TALLY_USAGE_SETTLE_WAIT = 5
    make_alert(meter=meter, customer=customer, gte=10**9)
    stop = threading.Event()

    def ingest(values: list[int]) -> None:
        try:
            for value in values:
                with transaction.atomic():
                    report(meter=meter, customer=customer, value=value)
        finally:
            connections.close_all()

    def evaluate() -> None:
        try:
            while not stop.is_set():
                usage_changes_evaluate(now=T0 + MINUTE)
        finally:
            connections.close_all()

    writers = [threading.Thread(target=ingest, args=([n + 1] * 40,)) for n in range(3)]
    readers = [threading.Thread(target=evaluate) for _ in range(2)]
    for thread in writers + readers:
        thread.start()
    for thread in writers:
        thread.join(60)
    stop.set()
    for thread in readers:
        thread.join(60)
    usage_changes_evaluate(now=T0 + MINUTE)
    assert progress() == 40 * (1 + 2 + 3)


def test_usage_committed_fires_the_alert_without_waiting_for_beat(
    meter, customer, django_capture_on_commit_callbacks
):
    make_alert(meter=meter, customer=customer, gte=100)
    with django_capture_on_commit_callbacks(execute=True):
        report(meter=meter, customer=customer, value=150)
    trigger = AlertTrigger.objects.get()
    assert (trigger.customer_id, int(trigger.value)) == (customer.pk, 150)
    assert Event.objects.filter(type="billing.alert.triggered").count() == 1


def test_a_cancellation_after_counting_takes_the_event_back_out(
    meter, customer, django_capture_on_commit_callbacks
):
    make_alert(meter=meter, customer=customer, gte=100)
    with django_capture_on_commit_callbacks(execute=True):
        report(meter=meter, customer=customer, value=70)
    assert progress() == 70
    event = MeterEvent.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        meter_event_cancel(
            event_name=meter.event_name, identifier=event.identifier, now=T0
        )
    assert progress() == 0
    with django_capture_on_commit_callbacks(execute=True):
        report(meter=meter, customer=customer, value=60)
    assert progress() == 60
    assert not AlertTrigger.objects.exists()


def test_a_cancellation_before_counting_is_left_out(meter, customer):
    make_alert(meter=meter, customer=customer, gte=100)
    report(meter=meter, customer=customer, value=70)
    meter_event_cancel(
        event_name=meter.event_name,
        identifier=MeterEvent.objects.get().identifier,
        now=T0,
    )
    report(meter=meter, customer=customer, value=40)
    usage_changes_evaluate(now=T0 + MINUTE)
    assert progress() == 40


def test_a_test_clock_customer_is_evaluated_at_the_clocks_time(
    meter, django_capture_on_commit_callbacks
):
    clock = TestClockFactory(frozen_time=T0 + timedelta(days=3))
    customer = CustomerFactory(test_clock=clock)
    make_alert(meter=meter, customer=customer, gte=10, now=clock.frozen_time)
    with django_capture_on_commit_callbacks(execute=True):
        report(meter=meter, customer=customer, value=12, now=clock.frozen_time)
    trigger = AlertTrigger.objects.get()
    assert (int(trigger.value), trigger.created) == (12, clock.frozen_time)


def test_a_billing_threshold_is_invoiced_as_the_usage_arrives(
    meter, customer, django_capture_on_commit_callbacks
):
    price = PriceFactory(
        unit_amount_decimal=Decimal(100),
        recurring_usage_type="metered",
        recurring_meter=meter,
    )
    subscription = subscription_create(
        customer=customer,
        params={
            "items": [{"price": price.pk}],
            "billing_thresholds": {"amount_gte": 10000},
        },
        now=T0,
    )
    at = T0 + timedelta(days=2)
    # Usage counts over [period start, now): the run comes a moment after it.
    with time_machine.travel(at + timedelta(seconds=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            report(meter=meter, customer=customer, value=99, now=at)
        assert not Invoice.objects.filter(billing_reason="subscription_threshold")
        with django_capture_on_commit_callbacks(execute=True):
            report(meter=meter, customer=customer, value=1, now=at)
    invoice = Invoice.objects.get(billing_reason="subscription_threshold")
    assert (invoice.subscription_id, invoice.subtotal) == (subscription.pk, 10000)


def test_one_message_per_debounce_interval(monkeypatch, settings):
    """Outside eager mode, a process queues one run for a burst of commits."""
    queued = []
    task = receivers.usage_changes_evaluate_task
    monkeypatch.setitem(task.app.conf, "task_always_eager", False)
    monkeypatch.setattr(task, "apply_async", lambda **kw: queued.append(kw))
    monkeypatch.setattr(receivers, "_queued_run_starts", 0.0)
    settings.TALLY_USAGE_DEBOUNCE = 60
    for _ in range(50):
        receivers.on_usage_recorded(sender=None)
    assert queued == [{"countdown": 60}]
    receivers._forget_queued_run()
    receivers.on_usage_recorded(sender=None)
    assert len(queued) == 2


def test_a_broker_failure_leaves_the_events_to_beat(monkeypatch, settings):
    task = receivers.usage_changes_evaluate_task
    monkeypatch.setitem(task.app.conf, "task_always_eager", False)

    def refuse(**kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(task, "apply_async", refuse)
    monkeypatch.setattr(receivers, "_queued_run_starts", 0.0)
    receivers.on_usage_recorded(sender=None)  # logs, does not raise
    assert receivers._queued_run_starts == 0.0


def test_a_usage_limit_cuts_the_feature_as_the_usage_arrives(
    customer, django_capture_on_commit_callbacks
):
    plan = make_plan()
    with time_machine.travel(d(4, 2), tick=False):
        subscribe(customer, plan.price, now=d(4, 2))
        usage_limit_create(
            params={
                "limit_type": "usage",
                "customer": customer.pk,
                "feature": "api",
                "usage": {"meter": plan.meter.pk, "gte": 100},
            },
            livemode=False,
            now=d(4, 2),
        )
    assert features_of(customer) == ["api"]
    with time_machine.travel(d(4, 3, second=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            report(meter=plan.meter, customer=customer, value=99, now=d(4, 3))
        assert features_of(customer) == ["api"]
        with django_capture_on_commit_callbacks(execute=True):
            report(meter=plan.meter, customer=customer, value=1, now=d(4, 3))
        assert features_of(customer) == []
    # Cancelling usage below the limit gives the feature back at once.
    with time_machine.travel(d(4, 3, second=2), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            meter_event_cancel(
                event_name=plan.meter.event_name,
                identifier=MeterEvent.objects.order_by("-id").first().identifier,
                now=d(4, 3),
            )
        assert features_of(customer) == ["api"]
    assert summaries(customer) == [["api"], [], ["api"]]
