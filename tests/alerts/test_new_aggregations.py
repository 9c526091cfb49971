"""Alerts and usage limits on the formulas beyond Stripe.

``max`` and ``unique_count`` alerts are evaluated exactly from the events received
since the alert's creation (not by the incremental progress cursor, which only
adds up sum and count); a ``time_weighted_sum`` alert compares the value-hours
accrued since its creation, so time alone can take it over; a usage limit on a
``last`` meter is refused with a 400 and nothing written (limits on the new
formulas: ``test_limits_formulas.py``).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from alerts.models import AlertTrigger, UsageCounter, UsageLimit
from alerts.services import alerts_evaluate
from metering.services import meter_create, meter_event_create
from tests.alerts.factories import T0, CustomerFactory, make_alert
from tests.alerts.limits_helpers import make_plan, subscribe
from tests.helpers import error_of

pytestmark = pytest.mark.django_db

HOUR, MINUTE = timedelta(hours=1), timedelta(minutes=1)


def meter_of(formula, **extra):
    return meter_create(
        display_name=formula,
        event_name=formula,
        formula=formula,
        now=T0,
        livemode=False,
        **extra,
    )


def send(meter, customer, value, **dimensions):
    meter_event_create(
        event_name=meter.event_name,
        payload={"stripe_customer_id": customer.pk, "value": str(value), **dimensions},
        identifier=uuid.uuid4().hex,
        now=T0,
    )


def fired():
    return sorted(
        (t.alert.meter.formula, t.customer_id, int(t.value))
        for t in AlertTrigger.objects.select_related("alert__meter")
    )


def test_max_alert_fires_on_the_largest_value_reported_after_creation():
    meter = meter_of("max")
    customer = CustomerFactory()
    send(meter, customer, 500)  # before the alert: does not count
    make_alert(meter=meter, gte=100)
    send(meter, customer, 40)
    alerts_evaluate(now=T0)
    assert fired() == []
    send(meter, customer, 120)
    send(meter, customer, 60)
    alerts_evaluate(now=T0)
    assert fired() == [("max", customer.pk, 120)]
    assert not UsageCounter.objects.exists()  # no incremental counting


def test_unique_count_alert():
    meter = meter_of(
        "unique_count", dimension_payload_keys=["user"], unique_payload_key="user"
    )
    customer = CustomerFactory()
    make_alert(meter=meter, gte=3)
    for user in ["ann", "bob", "ann"]:
        send(meter, customer, 1, user=user)
    alerts_evaluate(now=T0)
    assert fired() == []
    send(meter, customer, 1, user="cy")
    alerts_evaluate(now=T0)
    assert fired() == [("unique_count", customer.pk, 3)]


def reading(meter, customer, value, at):
    meter_event_create(
        event_name=meter.event_name,
        payload={"stripe_customer_id": customer.pk, "value": str(value)},
        identifier=uuid.uuid4().hex,
        timestamp=at,
        now=at,
    )


def test_time_weighted_alert_fires_on_value_hours_accrued_since_creation():
    meter = meter_of("time_weighted_sum")
    big, small = CustomerFactory(), CustomerFactory()
    reading(meter, big, 10, T0 - 5 * HOUR)  # holds from the alert's creation
    reading(meter, small, 1, T0 - 5 * HOUR)
    make_alert(meter=meter, gte=100, customer=big, title="Big")
    make_alert(meter=meter, gte=120, title="Everyone")
    alerts_evaluate(now=T0 + 9 * HOUR)
    assert fired() == []  # 90 GB-hours since creation, not 140
    # No event since: time alone takes it over the threshold, exactly at 10 h.
    alerts_evaluate(now=T0 + 10 * HOUR)
    assert fired() == [("time_weighted_sum", big.pk, 100)]
    reading(meter, small, 2, T0 + 10 * HOUR)
    alerts_evaluate(now=T0 + 12 * HOUR + 30 * MINUTE)
    # big: 125 GB-hours reach "Everyone"; small: 1 GB x 10 h + 2 GB x 2.5 h = 15.
    assert fired() == [
        ("time_weighted_sum", big.pk, 100),
        ("time_weighted_sum", big.pk, 125),
    ]
    alerts_evaluate(now=T0 + 20 * HOUR)
    assert AlertTrigger.objects.count() == 2  # each fires once per customer


def test_a_usage_limit_on_a_last_meter_is_refused(api):
    meter = meter_of("last")
    plan = make_plan()
    customer = CustomerFactory(currency="usd")
    subscribe(customer, plan.price)
    response = api.post(
        "/v1/billing/usage_limits",
        {
            "limit_type": "usage",
            "customer": customer.pk,
            "feature": "api",
            "usage": {"meter": meter.pk, "gte": 100},
        },
    )
    assert response.status_code == 400
    assert error_of(response)["param"] == "usage[meter]"
    assert not UsageLimit.objects.exists()
