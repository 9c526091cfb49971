"""Alerts and usage limits on the formulas beyond Stripe.

``max`` and ``unique_count`` alerts are evaluated exactly from the events received
since the alert's creation (not by the incremental progress cursor, which only
adds up sum and count); a ``time_weighted_sum`` alert, and a usage limit on any
meter but sum or count, are refused with a 400 and nothing written.
"""

from __future__ import annotations

import uuid

import pytest

from alerts.models import Alert, AlertProgress, AlertTrigger, UsageLimit
from alerts.services import alerts_evaluate
from metering.services import meter_create, meter_event_create
from tests.alerts.factories import T0, CustomerFactory, make_alert
from tests.alerts.limits_helpers import make_plan, subscribe
from tests.helpers import error_of

pytestmark = pytest.mark.django_db


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
    assert not AlertProgress.objects.exists()  # no incremental progress row


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


def test_time_weighted_alert_is_refused(api):
    meter = meter_of("time_weighted_sum")
    response = api.post(
        "/v1/billing/alerts",
        {
            "alert_type": "usage_threshold",
            "title": "Storage",
            "usage_threshold": {
                "gte": 10,
                "meter": meter.pk,
                "recurrence": "one_time",
            },
        },
    )
    assert response.status_code == 400
    assert error_of(response)["param"] == "usage_threshold[meter]"
    assert not Alert.objects.exists()


@pytest.mark.parametrize("formula", ["max", "unique_count", "time_weighted_sum"])
def test_usage_limit_needs_a_sum_or_count_meter(api, formula):
    extra = (
        {"dimension_payload_keys": ["user"], "unique_payload_key": "user"}
        if formula == "unique_count"
        else {}
    )
    meter = meter_of(formula, **extra)
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
