"""Credit balance alerts: fire as unbilled usage burns the credits down to a level."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail

from alerts.models import Alert, AlertTrigger
from alerts.services import (
    credit_balance_alert_create,
    credit_balance_alerts_evaluate,
)
from billing.services import subscription_create
from core.models import Event, OutboundEmail
from credits.services import credit_grant_create
from tests.alerts.factories import (
    CustomerFactory,
    MeterFactory,
    PriceFactory,
    TestClockFactory,
    report,
)
from tests.core.test_webhook_signing import endpoint_for, serving, verified

pytestmark = pytest.mark.django_db

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
DAY = timedelta(days=1)
LEVEL = {"balance_type": "monetary", "monetary": {"currency": "usd", "value": 300}}


@pytest.fixture
def meter():
    return MeterFactory(display_name="API calls", event_name="api_calls")


def _plan(meter, customer, *, grant: int = 1000, now=APR1):
    """$1.00 a call, metered, with ``grant`` cents of credits."""
    price = PriceFactory(
        unit_amount_decimal=Decimal(100),
        recurring_usage_type="metered",
        recurring_meter=meter,
    )
    subscription_create(
        customer=customer, params={"items": [{"price": price.pk}]}, now=now
    )
    credit_grant_create(
        customer=customer, value=grant, currency="usd", priority=50, now=now
    )


def _alert(customer, value=300, now=APR1):
    return credit_balance_alert_create(
        title="Credits low", customer=customer, currency="usd", value=value, now=now
    )


def test_fires_once_when_the_balance_after_unbilled_usage_reaches_the_level(meter):
    customer = CustomerFactory(email="jenny@example.com")
    _plan(meter, customer)
    alert = _alert(customer)
    report(meter=meter, customer=customer, value=6, now=APR1 + DAY)
    # $10.00 of credits, $6.00 of usage not yet invoiced: $4.00 left.
    assert credit_balance_alerts_evaluate(now=APR1 + 2 * DAY) == 0
    report(meter=meter, customer=customer, value=1, now=APR1 + 2 * DAY)
    assert credit_balance_alerts_evaluate(now=APR1 + 3 * DAY) == 1
    assert credit_balance_alerts_evaluate(now=APR1 + 3 * DAY) == 0
    trigger = AlertTrigger.objects.get()
    assert (trigger.alert, trigger.customer, int(trigger.value)) == (
        alert,
        customer,
        300,
    )
    event = Event.objects.get(type="billing.alert.triggered")
    assert event.data["object"]["value"] == 300


@pytest.fixture
def receiver():
    yield from serving()


def test_fires_its_event_webhook_and_emails(
    meter, receiver, settings, django_capture_on_commit_callbacks
):
    settings.STAFF_NOTIFICATION_EMAILS = ["ops@tally.example"]
    customer = CustomerFactory(name="Jenny Rosen", email="jenny@example.com")
    _plan(meter, customer)
    alert = _alert(customer)
    endpoint = endpoint_for(receiver.url, events=["billing.alert.triggered"])
    report(meter=meter, customer=customer, value=8, now=APR1 + DAY)
    with django_capture_on_commit_callbacks(execute=True):
        assert credit_balance_alerts_evaluate(now=APR1 + 2 * DAY) == 1

    (received,) = receiver.received
    delivered = verified(received, endpoint.secret)
    assert delivered.type == "billing.alert.triggered"
    triggered = delivered.data.object
    assert (triggered.alert.id, triggered.customer, triggered.value) == (
        alert.pk,
        customer.pk,
        200,
    )
    assert triggered.alert.alert_type == "credit_balance_threshold"
    assert triggered.alert.credit_balance_threshold.lte.monetary.value == 300
    assert Event.objects.get(type="billing.alert.triggered").pk == delivered.id

    to_customer, to_staff = sorted(mail.outbox, key=lambda message: message.to[0])
    assert to_customer.to == ["jenny@example.com"]
    assert "your credit balance has fallen" in to_customer.body
    assert "$2.00 (after usage not yet invoiced)" in to_customer.body
    assert to_staff.to == ["ops@tally.example"]
    assert "/admin/alerts/alert/" in to_staff.body
    assert OutboundEmail.objects.filter(status="sent").count() == 2


def test_a_customer_without_credits_in_the_currency_is_not_watched(meter):
    customer = CustomerFactory()
    _alert(customer, value=0)
    assert credit_balance_alerts_evaluate(now=APR1 + DAY) == 0


def test_the_usage_arriving_fires_it_within_the_commit(
    meter, django_capture_on_commit_callbacks
):
    customer = CustomerFactory()
    _plan(meter, customer)
    _alert(customer)
    with time_machine.travel(APR1 + DAY, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            report(meter=meter, customer=customer, value=7, now=APR1 + DAY - DAY / 2)
    assert [int(t.value) for t in AlertTrigger.objects.all()] == [300]


def test_a_test_clock_customer_fires_at_the_clocks_time(
    meter, django_capture_on_commit_callbacks
):
    clock = TestClockFactory(frozen_time=APR1)
    customer = CustomerFactory(test_clock=clock)
    _plan(meter, customer)
    _alert(customer)
    clock.frozen_time = APR1 + DAY
    clock.save()
    with django_capture_on_commit_callbacks(execute=True):
        report(meter=meter, customer=customer, value=9, now=APR1 + DAY / 2)
    trigger = AlertTrigger.objects.get()
    assert (int(trigger.value), trigger.created) == (100, APR1 + DAY)


def test_created_and_listed_through_the_api(api, meter):
    customer = CustomerFactory()
    created = api.post(
        "/v1/billing/alerts",
        {
            "alert_type": "credit_balance_threshold",
            "title": "Credits low",
            "credit_balance_threshold": {
                "filters": [{"type": "customer", "customer": customer.pk}],
                "lte": LEVEL,
            },
        },
    )
    assert created.status_code == 200, created.json()
    body = created.json()
    assert body["usage_threshold"] is None
    assert body["credit_balance_threshold"] == {
        "filters": [{"customer": customer.pk, "type": "customer"}],
        "lte": LEVEL,
    }
    listed = api.get(
        "/v1/billing/alerts", {"alert_type": "credit_balance_threshold"}
    ).json()
    assert [row["id"] for row in listed["data"]] == [body["id"]]


@pytest.mark.parametrize(
    ("threshold", "param"),
    [
        (
            {"lte": LEVEL},
            "credit_balance_threshold[filters]",
        ),
        (
            {
                "filters": [{"type": "customer", "customer": "cus_missing"}],
                "lte": LEVEL,
            },
            "credit_balance_threshold[filters][0][customer]",
        ),
        (
            {
                "filters": [{"type": "customer", "customer": "CUSTOMER"}],
                "lte": {**LEVEL, "monetary": {"currency": "usd", "value": -1}},
            },
            "credit_balance_threshold[lte][monetary][value]",
        ),
        (
            {
                "filters": [{"type": "customer", "customer": "CUSTOMER"}],
                "lte": {**LEVEL, "balance_type": "custom_pricing_unit"},
            },
            "credit_balance_threshold[lte][balance_type]",
        ),
        (
            {
                "filters": [{"type": "customer", "customer": "CUSTOMER"}],
                "lte": {**LEVEL, "monetary": {"currency": "dollars", "value": 5}},
            },
            "credit_balance_threshold[lte][monetary][currency]",
        ),
    ],
)
def test_bad_input_is_a_400_and_writes_nothing(api, threshold, param):
    customer = CustomerFactory()
    for row in threshold.get("filters", []):
        if row["customer"] == "CUSTOMER":
            row["customer"] = customer.pk
    response = api.post(
        "/v1/billing/alerts",
        {
            "alert_type": "credit_balance_threshold",
            "title": "Credits low",
            "credit_balance_threshold": threshold,
        },
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert not Alert.objects.exists()


def test_the_other_types_threshold_is_refused(api, meter):
    customer = CustomerFactory()
    response = api.post(
        "/v1/billing/alerts",
        {
            "alert_type": "credit_balance_threshold",
            "title": "Credits low",
            "credit_balance_threshold": {
                "filters": [{"type": "customer", "customer": customer.pk}],
                "lte": LEVEL,
            },
            "usage_threshold": {"gte": 5, "meter": meter.pk, "recurrence": "one_time"},
        },
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"].startswith("usage_threshold")
    assert not Alert.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_sdk_creates_one(stripe_sdk):
    stripe = stripe_sdk
    customer = stripe.Customer.create(name="Jenny Rosen")
    alert = stripe.billing.Alert.create(
        alert_type="credit_balance_threshold",
        title="Credits low",
        credit_balance_threshold={
            "filters": [{"type": "customer", "customer": customer.id}],
            "lte": LEVEL,
        },
    )
    assert alert.alert_type == "credit_balance_threshold"
    assert alert.credit_balance_threshold.lte.monetary.value == 300
    assert stripe.billing.Alert.retrieve(alert.id).status == "active"
