"""Evaluating usage alerts: what counts, firing once per customer, event and emails."""

from __future__ import annotations

from datetime import timedelta

import pytest
import stripe
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.models import Alert, AlertCursor, AlertTrigger, UsageCounter, UsageMark
from alerts.services import (
    alert_activate,
    alert_archive,
    alert_deactivate,
    alert_trigger,
    alerts_evaluate,
)
from alerts.services.progress import alert_progress
from core.models import Event, OutboundEmail
from metering.models import MeterEvent
from metering.services import meter_event_cancel
from tests.alerts.factories import (
    T0,
    CustomerFactory,
    MeterFactory,
    make_alert,
    report,
)
from tests.core.test_webhook_signing import endpoint_for, serving, verified

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def progress(customer, title: str = "Usage alert") -> int | None:
    """The usage counted towards the alert for the customer."""
    alert = Alert.objects.get(title=title)
    return alert_progress(alert=alert, customer_id=customer.pk)


@pytest.fixture
def meter():
    return MeterFactory(display_name="API tokens", event_name="api_tokens")


@pytest.fixture
def customer():
    return CustomerFactory(name="Jenny Rosen", email="jenny@example.com")


@pytest.fixture
def receiver():
    yield from serving()


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a job the way Beat does: its on-commit work (webhooks, emails) runs too."""

    def call(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return call


def fired() -> list[tuple[str, str, int]]:
    return sorted(
        (trigger.alert.title, trigger.customer_id, int(trigger.value))
        for trigger in AlertTrigger.objects.select_related("alert")
    )


def test_counts_only_usage_reported_after_the_alert_was_created(meter, customer):
    report(meter=meter, customer=customer, value=900, now=T0 - HOUR)
    alert = make_alert(meter=meter, customer=customer, gte=100, title="a")
    assert alerts_evaluate(now=T0 + MINUTE) == 0
    report(meter=meter, customer=customer, value=60, now=T0 + MINUTE)
    assert alerts_evaluate(now=T0 + 2 * MINUTE) == 0
    report(meter=meter, customer=customer, value=40, now=T0 + 2 * MINUTE)
    assert alerts_evaluate(now=T0 + 3 * MINUTE) == 1
    assert fired() == [("a", customer.pk, 100)]
    trigger = AlertTrigger.objects.get()
    assert (trigger.alert, trigger.created) == (alert, T0 + 3 * MINUTE)


def test_reported_after_creation_counts_whenever_the_usage_happened(meter, customer):
    make_alert(meter=meter, customer=customer, gte=100, title="a")
    # Reported now about yesterday: counts. Reported before about the future: not.
    report(meter=meter, customer=customer, value=100, now=T0, at=T0 - 24 * HOUR)
    assert alerts_evaluate(now=T0 + MINUTE) == 1

    other = CustomerFactory()
    report(meter=meter, customer=other, value=500, now=T0, at=T0 + 4 * MINUTE)
    make_alert(meter=meter, customer=other, gte=100, title="b")
    assert alerts_evaluate(now=T0 + 10 * MINUTE) == 0


def test_fires_once_per_customer_whatever_comes_next(meter, customer):
    make_alert(meter=meter, customer=customer, gte=100, title="a")
    report(meter=meter, customer=customer, value=150)
    assert alerts_evaluate(now=T0 + MINUTE) == 1
    assert alerts_evaluate(now=T0 + MINUTE) == 0
    report(meter=meter, customer=customer, value=5_000, now=T0 + MINUTE)
    assert alerts_evaluate(now=T0 + 2 * MINUTE) == 0
    assert fired() == [("a", customer.pk, 150)]
    assert Event.objects.filter(type="billing.alert.triggered").count() == 1


def test_without_a_filter_each_customer_fires_on_their_own_usage(meter):
    jenny, ada, bob = CustomerFactory(), CustomerFactory(), CustomerFactory()
    make_alert(meter=meter, gte=100, title="everyone")
    report(meter=meter, customer=jenny, value=100)
    report(meter=meter, customer=ada, value=99)
    report(meter=meter, customer=bob, value=60)
    report(meter=meter, customer=bob, value=60)
    assert alerts_evaluate(now=T0 + MINUTE) == 2
    assert set(fired()) == {("everyone", bob.pk, 120), ("everyone", jenny.pk, 100)}
    report(meter=meter, customer=ada, value=1, now=T0 + MINUTE)
    assert alerts_evaluate(now=T0 + 2 * MINUTE) == 1
    assert ("everyone", ada.pk, 100) in fired()


def test_alerts_of_one_meter_count_from_their_own_creation(meter, customer):
    make_alert(meter=meter, customer=customer, gte=100, title="early")
    report(meter=meter, customer=customer, value=80)
    make_alert(meter=meter, gte=100, title="late, everyone")
    make_alert(meter=meter, customer=customer, gte=20, title="late, mine")
    report(meter=meter, customer=customer, value=30)
    assert alerts_evaluate(now=T0 + MINUTE) == 2
    assert fired() == [("early", customer.pk, 110), ("late, mine", customer.pk, 30)]
    report(meter=meter, customer=customer, value=70)
    assert alerts_evaluate(now=T0 + MINUTE) == 1
    assert ("late, everyone", customer.pk, 100) in fired()


def test_other_meters_and_cancelled_events_do_not_count(meter, customer):
    make_alert(meter=meter, customer=customer, gte=100)
    report(meter=MeterFactory(), customer=customer, value=500)
    report(meter=meter, customer=customer, value=90)
    meter_event_cancel(
        event_name=meter.event_name,
        identifier=MeterEvent.objects.filter(meter=meter).get().identifier,
        now=T0,
    )
    report(meter=meter, customer=customer, value=20)
    assert alerts_evaluate(now=T0 + MINUTE) == 0


@pytest.mark.parametrize(
    ("formula", "values", "reached"),
    [
        ("count", [1, 1, 1], True),  # three events
        ("count", [50, 50], False),
        ("last", [900, 3], True),  # the latest by timestamp: 3 ≥ 3
        ("last", [3, 2], False),
    ],
)
def test_follows_the_meter_formula(customer, formula, values, reached):
    meter = MeterFactory(formula=formula)
    make_alert(meter=meter, customer=customer, gte=3)
    for index, value in enumerate(values):
        report(meter=meter, customer=customer, value=value, at=T0 + index * MINUTE)
    assert alerts_evaluate(now=T0 + 5 * MINUTE) == int(reached)


def test_only_active_alerts_fire(meter, customer):
    alert = make_alert(meter=meter, customer=customer, gte=10)
    alert_deactivate(alert=alert, now=T0)
    report(meter=meter, customer=customer, value=50)
    assert alerts_evaluate(now=T0 + MINUTE) == 0
    # Usage counts from creation, also what came while the alert was inactive.
    alert_activate(alert=alert, now=T0 + MINUTE)
    assert alerts_evaluate(now=T0 + 2 * MINUTE) == 1
    archived = make_alert(meter=meter, customer=customer, gte=10)
    report(meter=meter, customer=customer, value=50)
    alert_archive(alert=archived, now=T0)
    assert alerts_evaluate(now=T0 + 3 * MINUTE) == 0
    # A firing that lost the race against deactivation does nothing.
    late = make_alert(meter=meter, customer=customer, gte=1)
    alert_deactivate(alert=late, now=T0)
    assert (
        alert_trigger(alert_id=late.pk, customer_id=customer.pk, value=1, now=T0)
        is None
    )


def test_customers_on_a_test_clock_are_left_to_their_clock(meter, customer):
    from tests.alerts.factories import TestClockFactory

    clocked = CustomerFactory(test_clock=TestClockFactory())
    make_alert(meter=meter, gte=10)
    report(meter=meter, customer=clocked, value=50)
    report(meter=meter, customer=customer, value=50)
    assert alerts_evaluate(now=T0 + MINUTE) == 1
    assert [t.customer_id for t in AlertTrigger.objects.all()] == [customer.pk]


def test_the_event_is_stripes_billing_alert_triggered(meter, customer, run, receiver):
    alert = make_alert(meter=meter, customer=customer, gte=100, title="100 tokens")
    report(meter=meter, customer=customer, value=123)
    endpoint = endpoint_for(receiver.url, events=["billing.alert.triggered"])
    run(alerts_evaluate, now=T0 + MINUTE)
    event = Event.objects.get(type="billing.alert.triggered")
    assert event.data == {
        "object": {
            "object": "billing.alert_triggered",
            "alert": {
                "id": alert.pk,
                "object": "billing.alert",
                "alert_type": "usage_threshold",
                "livemode": False,
                "status": "active",
                "title": "100 tokens",
                "usage_threshold": {
                    "filters": [{"customer": customer.pk, "type": "customer"}],
                    "gte": 100,
                    "meter": meter.pk,
                    "recurrence": "one_time",
                },
                "credit_balance_threshold": None,
            },
            "created": int((T0 + MINUTE).timestamp()),
            "customer": customer.pk,
            "livemode": False,
            "value": 123,
        }
    }
    assert AlertTrigger.objects.get().event_id == event.pk
    (received,) = receiver.received
    delivered = verified(received, endpoint.secret)
    assert delivered.type == "billing.alert.triggered"
    triggered = delivered.data.object
    assert isinstance(triggered, stripe.billing.AlertTriggered)
    assert isinstance(triggered.alert, stripe.billing.Alert)
    assert (triggered.customer, triggered.value) == (customer.pk, 123)
    assert triggered.alert.usage_threshold.gte == 100


def test_emails_the_customer_and_staff(meter, customer, run, settings):
    settings.STAFF_NOTIFICATION_EMAILS = ["sales@tally.example", "ops@tally.example"]
    make_alert(meter=meter, customer=customer, gte=1_000, title="1,000 API tokens")
    report(meter=meter, customer=customer, value=1_250)
    run(alerts_evaluate, now=T0 + MINUTE)
    to_customer, to_staff = sorted(mail.outbox, key=lambda message: len(message.to))
    assert to_customer.to == ["jenny@example.com"]
    assert to_customer.subject == "Usage alert: 1,000 API tokens"
    assert "1,250" in to_customer.body
    assert "Hello Jenny Rosen" in to_customer.body
    assert "/admin/" not in to_customer.body
    html, mimetype = to_customer.alternatives[0]
    assert mimetype == "text/html"
    assert "<strong>1,250</strong>" in html
    assert to_staff.to == ["sales@tally.example", "ops@tally.example"]
    assert to_staff.subject == "[Tally] Alert “1,000 API tokens” fired for Jenny Rosen"
    assert "/admin/alerts/alert/" in to_staff.body
    assert OutboundEmail.objects.filter(status="sent").count() == 2


def test_a_customer_without_email_still_fires_and_staff_hear_of_it(meter, settings):
    settings.STAFF_NOTIFICATION_EMAILS = ["ops@tally.example"]
    customer = CustomerFactory(email=None)
    make_alert(meter=meter, customer=customer, gte=1)
    report(meter=meter, customer=customer, value=1)
    assert alerts_evaluate(now=T0 + MINUTE) == 1
    assert list(OutboundEmail.objects.values_list("to", flat=True)) == [
        ["ops@tally.example"]
    ]


def _queries(now) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        alerts_evaluate(now=now)
    return [query["sql"] for query in queries]


def test_the_job_costs_the_same_queries_whatever_the_number_of_customers(meter):
    second = MeterFactory()
    make_alert(meter=meter, gte=1_000_000, title="everyone")
    make_alert(meter=second, gte=1_000_000, title="everyone, second meter")
    for _ in range(3):
        customer = CustomerFactory()
        make_alert(meter=meter, customer=customer, gte=1_000_000)
        report(meter=meter, customer=customer, value=5)
    few = len(_queries(T0 + MINUTE))
    for _ in range(30):
        customer = CustomerFactory()
        make_alert(meter=second, customer=customer, gte=1_000_000)
        report(meter=meter, customer=customer, value=5, now=T0 + MINUTE)
        report(meter=second, customer=customer, value=5, now=T0 + MINUTE)
    many = _queries(T0 + 2 * MINUTE)
    assert len(many) == few
    # One grouped read of the new events covers both meters and every customer
    # (the alerts created since the last run take their marks in one more).
    reads = [sql for sql in many if "INTO alerts_usagecounter" in sql]
    assert len(reads) == 1
    assert "GROUP BY" in reads[0]
    assert "meterevent" in reads[0]


def test_each_run_reads_only_the_events_received_since_the_last(meter, customer):
    make_alert(meter=meter, customer=customer, gte=1_000)
    report(meter=meter, customer=customer, value=400)
    alerts_evaluate(now=T0 + MINUTE)
    counted = AlertCursor.objects.get().event_id
    assert progress(customer) == 400
    report(meter=meter, customer=customer, value=300, now=T0 + MINUTE)
    (read,) = [
        sql
        for sql in _queries(T0 + 2 * MINUTE)
        if "GROUP BY" in sql and "meterevent" in sql
    ]
    assert f"> {counted}" in read
    assert progress(customer) == 700
    report(meter=meter, customer=customer, value=300, now=T0 + 2 * MINUTE)
    assert alerts_evaluate(now=T0 + 3 * MINUTE) == 1
    # The pair fired: more usage fires nothing more.
    report(meter=meter, customer=customer, value=300, now=T0 + 3 * MINUTE)
    assert alerts_evaluate(now=T0 + 4 * MINUTE) == 0
    assert AlertTrigger.objects.count() == 1


def test_a_cancellation_after_counting_takes_the_event_back_out(meter, customer):
    make_alert(meter=meter, customer=customer, gte=100)
    report(meter=meter, customer=customer, value=90)
    assert alerts_evaluate(now=T0 + MINUTE) == 0
    # Received after the run (time only moves on), about an event it counted.
    meter_event_cancel(
        event_name=meter.event_name,
        identifier=MeterEvent.objects.get().identifier,
        now=T0 + 1.5 * MINUTE,
    )
    report(meter=meter, customer=customer, value=20, now=T0 + 1.5 * MINUTE)
    assert alerts_evaluate(now=T0 + 2 * MINUTE) == 0
    assert progress(customer) == 20
    report(meter=meter, customer=customer, value=80, now=T0 + 2 * MINUTE)
    assert alerts_evaluate(now=T0 + 3 * MINUTE) == 1
    assert fired() == [("Usage alert", customer.pk, 100)]


def test_a_cancellation_of_usage_from_before_an_alert_leaves_it_alone(meter, customer):
    other = CustomerFactory()
    report(meter=meter, customer=customer, value=50)  # no alert yet: not counted
    alerts_evaluate(now=T0 + MINUTE)
    make_alert(meter=meter, gte=60, title="everyone", now=T0 + MINUTE)
    make_alert(meter=meter, customer=other, gte=10, title="other", now=T0 + MINUTE)
    report(meter=meter, customer=customer, value=30, now=T0 + MINUTE)
    assert alerts_evaluate(now=T0 + 2 * MINUTE) == 0
    assert progress(customer, "everyone") == 30
    meter_event_cancel(
        event_name=meter.event_name,
        identifier=MeterEvent.objects.order_by("id").first().identifier,
        now=T0 + 2 * MINUTE,
    )
    assert alerts_evaluate(now=T0 + 3 * MINUTE) == 0
    assert progress(customer, "everyone") == 30
    report(meter=meter, customer=customer, value=30, now=T0 + 3 * MINUTE)
    assert alerts_evaluate(now=T0 + 4 * MINUTE) == 1
    assert fired() == [("everyone", customer.pk, 60)]


def test_alerts_created_at_one_point_share_the_usage_counted(meter, customer):
    for gte in (10, 20, 30):
        make_alert(meter=meter, customer=customer, gte=gte, title=f"at {gte}")
    make_alert(meter=meter, gte=25, title="everyone")
    report(meter=meter, customer=customer, value=25)
    assert alerts_evaluate(now=T0 + MINUTE) == 3
    # One counter for the pair, one mark for the four alerts.
    assert UsageCounter.objects.get().value - UsageMark.objects.get().value == 25
    report(meter=meter, customer=customer, value=5, now=T0 + MINUTE)
    assert alerts_evaluate(now=T0 + 2 * MINUTE) == 1
    assert sorted(title for title, _, _ in fired()) == [
        "at 10",
        "at 20",
        "at 30",
        "everyone",
    ]
    # Every alert taken at the mark fired: no pass reads it any more.
    assert not UsageMark.objects.exists()


def test_archiving_the_last_alert_of_a_mark_drops_it(meter, customer):
    kept = make_alert(meter=meter, customer=customer, gte=100, title="kept")
    gone = make_alert(meter=meter, customer=customer, gte=100, title="gone")
    report(meter=meter, customer=customer, value=10)
    alerts_evaluate(now=T0 + MINUTE)
    alert_archive(alert=gone, now=T0 + MINUTE)
    assert UsageMark.objects.count() == 1  # the kept alert still reads it
    alert_archive(alert=kept, now=T0 + MINUTE)
    assert not UsageMark.objects.exists()


def test_an_alert_created_between_two_runs_counts_from_its_creation(meter, customer):
    make_alert(meter=meter, gte=1_000, title="old")
    report(meter=meter, customer=customer, value=50)
    make_alert(meter=meter, gte=60, title="new", now=T0)
    report(meter=meter, customer=customer, value=60)
    assert alerts_evaluate(now=T0 + MINUTE) == 1
    assert fired() == [("new", customer.pk, 60)]
    assert progress(customer, "old") == 110


def test_a_threshold_reached_by_many_customers_fires_each_once(meter):
    customers = [CustomerFactory() for _ in range(12)]
    make_alert(meter=meter, gte=10, title="everyone")
    for customer in customers:
        report(meter=meter, customer=customer, value=10)
    assert alerts_evaluate(now=T0 + MINUTE) == 12
    assert alerts_evaluate(now=T0 + MINUTE) == 0
    assert Alert.objects.get().triggers.count() == 12


def test_a_backlog_is_counted_over_several_runs(meter, customer, monkeypatch):
    from alerts.services import progress as counting

    monkeypatch.setattr(counting, "MAX_IDS_PER_RUN", 2)
    make_alert(meter=meter, customer=customer, gte=5)
    for _ in range(5):
        report(meter=meter, customer=customer, value=1)
    assert alerts_evaluate(now=T0 + MINUTE) == 0
    assert progress(customer) == 2
    assert alerts_evaluate(now=T0 + 2 * MINUTE) == 0
    assert alerts_evaluate(now=T0 + 3 * MINUTE) == 1


def test_a_bulk_of_new_alerts_refreshes_the_planners_statistics(
    meter, customer, monkeypatch
):
    """Marks for many new alerts at once: alerts and marks are analyzed in the
    same run, so the crossing read is planned for what is there (PostgreSQL)."""
    from alerts.services import progress as progress_module

    make_alert(meter=meter, customer=customer, gte=100, title="one")
    report(meter=meter, customer=customer, value=10)

    def analyzed(now) -> bool:
        with CaptureQueriesContext(connection) as queries:
            alerts_evaluate(now=now)
        return any(q["sql"].startswith("ANALYZE") for q in queries.captured_queries)

    assert not analyzed(T0 + MINUTE)  # one mark: below the bulk size
    monkeypatch.setattr(progress_module, "MARKS_ANALYZE", 1)
    make_alert(meter=meter, customer=customer, gte=100, title="two")
    report(meter=meter, customer=customer, value=10, now=T0 + MINUTE)
    assert analyzed(T0 + 2 * MINUTE) == (connection.vendor == "postgresql")
    assert progress(customer, "two") == 10
