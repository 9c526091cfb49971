"""/v2/billing meter event session, stream, events and adjustments (JSON, RFC 3339)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from metering import selectors
from metering.models import MeterEvent
from tests.metering.factories import CustomerFactory, MeterFactory

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def traveller():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def customer(db):
    MeterFactory(event_name="tokens")
    return CustomerFactory()


def v2_error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"type", "code", "message"}, body
    return body["error"]


def stream(token, events, client=None):
    return (client or Client()).post(
        "/v2/billing/meter_event_stream",
        {"events": events},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def session_token(api) -> str:
    return api.post_json("/v2/billing/meter_event_session", {}).json()[
        "authentication_token"
    ]


def stream_event(customer, identifier, value="5", **extra):
    return {
        "event_name": "tokens",
        "identifier": identifier,
        "payload": {"stripe_customer_id": customer.id, "value": value},
        **extra,
    }


def total(customer):
    meter = MeterEvent.objects.filter(customer_id=customer.id).first().meter
    return selectors.meter_usage_for_period(
        meter=meter,
        customer_id=customer.id,
        start=NOW - timedelta(days=2),
        end=NOW + timedelta(days=1),
    )


def test_session_shape(api, traveller):
    body = api.post_json("/v2/billing/meter_event_session", {}).json()
    assert body["object"] == "v2.billing.meter_event_session"
    assert body["id"].startswith("mtrsess_")
    assert body["created"] == "2026-05-01T12:00:00.000Z"
    assert body["expires_at"] == "2026-05-01T12:15:00.000Z"
    assert body["livemode"] is False
    assert len(body["authentication_token"]) > 30


def test_stream_records_events(api, traveller, customer):
    token = session_token(api)
    events = [stream_event(customer, f"s-{index}") for index in range(100)]
    events[0]["timestamp"] = "2026-05-01T11:00:00.250Z"
    response = stream(token, events)
    assert response.status_code == 200
    assert response.json() == {}
    assert MeterEvent.objects.count() == 100
    first = MeterEvent.objects.get(identifier="s-0")
    assert first.timestamp == datetime(2026, 5, 1, 11, 0, 0, 250000, tzinfo=UTC)
    assert total(customer) == Decimal(500)


def test_stream_retries_are_harmless(api, traveller, customer):
    token = session_token(api)
    events = [stream_event(customer, "r-1"), stream_event(customer, "r-2")]
    assert stream(token, events).status_code == 200
    assert stream(token, events).status_code == 200
    assert total(customer) == Decimal(10)


def test_stream_offsets_are_converted_to_utc(api, traveller, customer):
    token = session_token(api)
    stream(token, [stream_event(customer, "o", timestamp="2026-05-01T13:30:00+02:00")])
    assert MeterEvent.objects.get().timestamp == datetime(
        2026, 5, 1, 11, 30, tzinfo=UTC
    )


def test_expired_session_is_401(api, traveller, customer):
    token = session_token(api)
    traveller.shift(timedelta(minutes=15, seconds=1))
    response = stream(token, [stream_event(customer, "late")])
    assert response.status_code == 401
    error = v2_error(response)
    assert error["type"] == "temporary_session_expired"
    assert error["code"] == "billing_meter_event_session_expired"
    assert not MeterEvent.objects.exists()


def test_unknown_or_missing_token_is_401(api, secret_key, customer):
    unknown = stream("mes_test_nope", [stream_event(customer, "x")])
    assert unknown.status_code == 401
    assert v2_error(unknown)["type"] == "temporary_session_expired"
    # A secret key is not a session token.
    assert stream(secret_key, [stream_event(customer, "x")]).status_code == 401
    missing = Client().post(
        "/v2/billing/meter_event_stream",
        {"events": []},
        content_type="application/json",
    )
    assert missing.status_code == 401


@pytest.mark.parametrize(
    ("events", "code", "fragment"),
    [
        ([], "parameter_missing", "events"),
        ([{"event_name": "tokens"}] * 101, "parameter_invalid", "at most 100"),
        (["not an object"], "parameter_invalid", "events[0]"),
        (
            [{"event_name": "tokens", "payload": {}, "extra": 1}],
            "parameter_unknown",
            "events[0][extra]",
        ),
        (
            [
                {
                    "event_name": "tokens",
                    "payload": {"value": "1"},
                    "timestamp": 1714564800,
                }
            ],
            "parameter_invalid",
            "events[0][timestamp]",
        ),
        (
            [
                {
                    "event_name": "tokens",
                    "payload": {"value": "1"},
                    "timestamp": "2026-05-01T11:00:00",
                }
            ],
            "parameter_invalid",
            "RFC 3339",
        ),
    ],
)
def test_stream_shape_errors(api, traveller, customer, events, code, fragment):
    response = stream(session_token(api), events)
    assert response.status_code == 400
    error = v2_error(response)
    assert error["code"] == code
    assert fragment in error["message"]


def test_stream_is_all_or_nothing(api, traveller, customer):
    events = [
        stream_event(customer, "ok"),
        stream_event(customer, "bad", value="1.5"),
    ]
    response = stream(session_token(api), events)
    assert response.status_code == 400
    error = v2_error(response)
    assert error["code"] == "payload_invalid_value"
    assert error["message"].startswith("events[1]: ")
    assert not MeterEvent.objects.exists()


def test_v2_meter_event(api, traveller, customer):
    response = api.post_json(
        "/v2/billing/meter_events",
        stream_event(customer, "v2-1", timestamp="2026-05-01T11:59:00.000Z"),
    )
    assert response.json() == {
        "object": "v2.billing.meter_event",
        "created": "2026-05-01T12:00:00.000Z",
        "event_name": "tokens",
        "identifier": "v2-1",
        "livemode": False,
        "payload": {"stripe_customer_id": customer.id, "value": "5"},
        "timestamp": "2026-05-01T11:59:00.000Z",
    }
    duplicate = api.post_json(
        "/v2/billing/meter_events", stream_event(customer, "v2-1")
    )
    assert duplicate.status_code == 400
    assert v2_error(duplicate)["code"] == "duplicate_meter_event"
    no_meter = api.post_json(
        "/v2/billing/meter_events",
        {**stream_event(customer, "n"), "event_name": "nope"},
    )
    assert v2_error(no_meter)["code"] == "no_meter"


def test_v2_adjustment(api, traveller, customer):
    api.post_json("/v2/billing/meter_events", stream_event(customer, "gone", value="9"))
    api.post_json("/v2/billing/meter_events", stream_event(customer, "kept", value="4"))
    body = api.post_json(
        "/v2/billing/meter_event_adjustments",
        {"event_name": "tokens", "type": "cancel", "cancel": {"identifier": "gone"}},
    ).json()
    assert body["id"].startswith("mtradj_")
    assert body == {
        "id": body["id"],
        "object": "v2.billing.meter_event_adjustment",
        "cancel": {"identifier": "gone"},
        "created": "2026-05-01T12:00:00.000Z",
        "event_name": "tokens",
        "livemode": False,
        "status": "complete",
        "type": "cancel",
    }
    assert total(customer) == Decimal(4)
    unknown = api.post_json(
        "/v2/billing/meter_event_adjustments",
        {"event_name": "tokens", "type": "cancel", "cancel": {"identifier": "never"}},
    )
    assert v2_error(unknown)["code"] == "invalid_cancel_configuration"
    wrong_type = api.post_json(
        "/v2/billing/meter_event_adjustments",
        {"event_name": "tokens", "type": "range", "cancel": {"identifier": "kept"}},
    )
    assert v2_error(wrong_type)["code"] == "invalid_cancel_configuration"


def test_v2_requires_a_secret_key(customer):
    response = Client().post(
        "/v2/billing/meter_events", {}, content_type="application/json"
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "fragment"),
    [("{not json", "JSON parse error"), ("[1]", "must be a JSON object")],
)
def test_stream_bad_json_bodies(api, traveller, customer, body, fragment):
    response = Client().post(
        "/v2/billing/meter_event_stream",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {session_token(api)}",
    )
    assert response.status_code == 400
    assert fragment in v2_error(response)["message"]


def test_stream_form_bodies_take_drf_path(api, traveller, customer):
    response = Client().post(
        "/v2/billing/meter_event_stream",
        "events=1",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Bearer {session_token(api)}",
    )
    assert response.status_code == 400
    assert v2_error(response)["code"] == "parameter_missing"
