"""POST /v1/billing/meter_event_adjustments: cancel an event by identifier."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from metering import selectors
from metering.models import MeterEventAdjustment, MeterUsageRollup
from tests.helpers import error_of
from tests.metering.factories import MeterFactory

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def post_event(api, customer, identifier, value, minutes_ago=10, event_name="tokens"):
    response = api.post(
        "/v1/billing/meter_events",
        {
            "event_name": event_name,
            "identifier": identifier,
            "timestamp": int((NOW - timedelta(minutes=minutes_ago)).timestamp()),
            "payload": {"stripe_customer_id": customer.id, "value": str(value)},
        },
    )
    assert response.status_code == 200, response.json()


def cancel(api, identifier, event_name="tokens"):
    return api.post(
        "/v1/billing/meter_event_adjustments",
        {
            "event_name": event_name,
            "type": "cancel",
            "cancel": {"identifier": identifier},
        },
    )


def usage(meter, customer):
    return selectors.meter_usage_for_period(
        meter=meter, customer_id=customer.id, start=NOW - timedelta(days=1), end=NOW
    )


def test_cancel_stops_the_event_counting(api, customer):
    meter = MeterFactory(event_name="tokens")
    post_event(api, customer, "a", 10)
    post_event(api, customer, "b", 32)
    response = cancel(api, "b")
    assert response.json() == {
        "object": "billing.meter_event_adjustment",
        "cancel": {"identifier": "b"},
        "event_name": "tokens",
        "livemode": False,
        "status": "complete",
        "type": "cancel",
    }
    assert usage(meter, customer) == Decimal(10)
    rollup = MeterUsageRollup.objects.get()
    assert (rollup.value_sum, rollup.event_count) == (Decimal(10), 1)


@pytest.mark.parametrize(
    ("formula", "expected"), [("last", Decimal(10)), ("sum", Decimal(10))]
)
def test_cancelling_the_last_event_recomputes_the_hour(
    api, customer, formula, expected
):
    meter = MeterFactory(event_name="tokens", formula=formula)
    post_event(api, customer, "early", 10, minutes_ago=20)
    post_event(api, customer, "late", 99, minutes_ago=5)
    cancel(api, "late")
    assert usage(meter, customer) == expected
    rollup = MeterUsageRollup.objects.get()
    assert rollup.last_value == Decimal(10)
    assert rollup.latest_value == Decimal(10)


def test_cancelling_every_event_of_an_hour_leaves_an_empty_rollup(api, customer):
    meter = MeterFactory(event_name="tokens", formula="last")
    post_event(api, customer, "only", 7)
    cancel(api, "only")
    rollup = MeterUsageRollup.objects.get()
    assert (rollup.event_count, rollup.last_seq, rollup.latest_seq) == (0, None, None)
    assert usage(meter, customer) == Decimal(0)


def test_unknown_identifier_is_400(api, customer):
    MeterFactory(event_name="tokens")
    response = cancel(api, "never-sent")
    assert response.status_code == 400
    error = error_of(response)
    assert error["param"] == "cancel[identifier]"
    assert error["code"] == "invalid_cancel_configuration"


def test_identifier_of_another_event_name_is_unknown(api, customer):
    MeterFactory(event_name="tokens")
    MeterFactory(event_name="other")
    post_event(api, customer, "x", 1)
    assert (
        error_of(cancel(api, "x", event_name="other"))["param"] == "cancel[identifier]"
    )


def test_cancelling_twice_is_refused(api, customer):
    meter = MeterFactory(event_name="tokens")
    post_event(api, customer, "a", 10)
    post_event(api, customer, "b", 5)
    cancel(api, "a")
    error = error_of(cancel(api, "a"))
    assert (error["param"], error["code"]) == (
        "cancel[identifier]",
        "meter_event_already_canceled",
    )
    assert MeterEventAdjustment.objects.count() == 1
    assert usage(meter, customer) == Decimal(5)


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        (
            {"type": "cancel", "cancel": {"identifier": "a"}},
            "event_name",
            "parameter_missing",
        ),
        (
            {"event_name": "tokens", "cancel": {"identifier": "a"}},
            "type",
            "parameter_missing",
        ),
        (
            {"event_name": "tokens", "type": "void", "cancel": {"identifier": "a"}},
            "type",
            "parameter_invalid",
        ),
        (
            {"event_name": "tokens", "type": "cancel"},
            "cancel[identifier]",
            "parameter_missing",
        ),
        (
            {"event_name": "tokens", "type": "cancel", "cancel": {"id": "a"}},
            "cancel[id]",
            "parameter_unknown",
        ),
    ],
)
def test_validation(api, params, param, code):
    error = error_of(api.post("/v1/billing/meter_event_adjustments", params))
    assert (error["param"], error["code"]) == (param, code)
