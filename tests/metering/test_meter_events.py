"""POST /v1/billing/meter_events: validation (each error with its param), dedup."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client

from core.models import Customer
from metering import selectors
from metering.models import Meter, MeterEvent, MeterUsageRollup
from tests.helpers import ApiClient, error_of
from tests.metering.factories import CustomerFactory, MeterFactory, TestClockFactory

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


def event(customer, **overrides):
    params = {
        "event_name": "tokens",
        "payload": {"stripe_customer_id": customer.id, "value": "25"},
    }
    params.update(overrides)
    return params


def usage(meter, customer, around=NOW):
    return selectors.meter_usage_for_period(
        meter=meter,
        customer_id=customer.id,
        start=around - timedelta(days=40),
        end=around + timedelta(days=1),
    )


def test_records_and_echoes_the_event(api, frozen, meter, customer):
    response = api.post(
        "/v1/billing/meter_events",
        event(customer, identifier="req-1", timestamp=int(NOW.timestamp()) - 60),
    )
    assert response.status_code == 200
    assert response.json() == {
        "object": "billing.meter_event",
        "created": int(NOW.timestamp()),
        "event_name": "tokens",
        "identifier": "req-1",
        "livemode": False,
        "payload": {"stripe_customer_id": customer.id, "value": "25"},
        "timestamp": int(NOW.timestamp()) - 60,
    }
    assert usage(meter, customer) == Decimal(25)


def test_defaults_identifier_and_timestamp(api, frozen, meter, customer):
    body = api.post("/v1/billing/meter_events", event(customer)).json()
    assert len(body["identifier"]) == 36  # a generated UUID
    assert body["timestamp"] == int(NOW.timestamp())
    second = api.post("/v1/billing/meter_events", event(customer)).json()
    assert second["identifier"] != body["identifier"]
    assert usage(meter, customer) == Decimal(50)


def test_keeps_extra_payload_keys(api, frozen, meter, customer):
    payload = {"stripe_customer_id": customer.id, "value": "7", "model": "hyper-1"}
    body = api.post("/v1/billing/meter_events", event(customer, payload=payload)).json()
    assert body["payload"] == payload
    assert MeterEvent.objects.get().dimensions == {"model": "hyper-1"}


def test_custom_payload_keys(api, frozen, customer):
    meter = MeterFactory(
        event_name="tokens", customer_payload_key="account", value_payload_key="n"
    )
    body = api.post(
        "/v1/billing/meter_events",
        {"event_name": "tokens", "payload": {"account": customer.id, "n": "3"}},
    ).json()
    assert body["payload"] == {"account": customer.id, "n": "3"}
    assert usage(meter, customer) == Decimal(3)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("-5", -5),
        ("+7", 7),
        ("0", 0),
        ("007", 7),
        ("999999999999999", 999999999999999),
        ("100000000000000000000", 10**20),
    ],
)
def test_whole_number_values(api, frozen, meter, customer, value, stored):
    payload = {"stripe_customer_id": customer.id, "value": value}
    api.post("/v1/billing/meter_events", event(customer, payload=payload))
    assert MeterEvent.objects.get().value == Decimal(stored)


def _bad(customer, **changes):
    payload = {"stripe_customer_id": customer.id, "value": "25"}
    payload.update(changes.pop("payload", {}))
    params = {
        "event_name": "tokens",
        "payload": {k: v for k, v in payload.items() if v is not None},
    }
    params.update(changes)
    return {k: v for k, v in params.items() if v is not None}


@pytest.mark.parametrize(
    ("changes", "param", "code"),
    [
        ({"event_name": None}, "event_name", "parameter_missing"),
        ({"event_name": "unknown"}, "event_name", "no_meter"),
        ({"event_name": "e" * 101}, "event_name", "parameter_invalid"),
        (
            {"payload": {"stripe_customer_id": None}},
            "payload[stripe_customer_id]",
            "payload_no_customer_defined",
        ),
        (
            {"payload": {"stripe_customer_id": "cus_nobody"}},
            "payload[stripe_customer_id]",
            "meter_event_customer_not_found",
        ),
        ({"payload": {"value": None}}, "payload[value]", "payload_no_value_defined"),
        ({"payload": {"value": "2.5"}}, "payload[value]", "payload_invalid_value"),
        ({"payload": {"value": "ten"}}, "payload[value]", "payload_invalid_value"),
        ({"payload": {"value": "1e3"}}, "payload[value]", "payload_invalid_value"),
        ({"payload": {"value": " 5"}}, "payload[value]", "payload_invalid_value"),
        (
            {"payload": {"value": "1234567890123456"}},
            "payload[value]",
            "meter_event_value_too_many_digits",
        ),
        ({"identifier": "i" * 101}, "identifier", "parameter_invalid"),
        (
            {"timestamp": int((NOW - timedelta(days=35, seconds=1)).timestamp())},
            "timestamp",
            "timestamp_too_far_in_past",
        ),
        (
            {"timestamp": int((NOW + timedelta(minutes=5, seconds=1)).timestamp())},
            "timestamp",
            "timestamp_in_future",
        ),
        ({"timestamp": "yesterday"}, "timestamp", "parameter_invalid"),
        ({"value": "25"}, "value", "parameter_unknown"),
    ],
)
def test_validation_errors(api, frozen, meter, customer, changes, param, code):
    response = api.post("/v1/billing/meter_events", _bad(customer, **changes))
    assert response.status_code == 400
    error = error_of(response)
    assert (error["param"], error["code"]) == (param, code), error
    assert error["type"] == "invalid_request_error"
    assert error["message"]
    assert not MeterEvent.objects.exists()


def test_missing_payload(api, frozen, meter):
    error = error_of(api.post("/v1/billing/meter_events", {"event_name": "tokens"}))
    assert (error["param"], error["code"]) == ("payload", "parameter_missing")


def test_timestamp_bounds_are_inclusive(api, frozen, meter, customer):
    for moment in (NOW - timedelta(days=35), NOW + timedelta(minutes=5)):
        response = api.post(
            "/v1/billing/meter_events",
            event(customer, timestamp=int(moment.timestamp())),
        )
        assert response.status_code == 200, response.json()


def test_inactive_meter_refuses_events(api, frozen, customer):
    MeterFactory(event_name="tokens", status=Meter.Status.INACTIVE)
    error = error_of(api.post("/v1/billing/meter_events", event(customer)))
    assert (error["param"], error["code"]) == ("event_name", "archived_meter")


def test_deleted_customer_is_refused(api, frozen, meter, customer):
    Customer.objects.filter(pk=customer.pk).update(deleted=True)
    error = error_of(api.post("/v1/billing/meter_events", event(customer)))
    assert error["code"] == "meter_event_customer_not_found"


def test_test_clock_customer_lives_at_frozen_time(api, frozen, meter):
    clock = TestClockFactory(frozen_time=NOW - timedelta(days=100))
    customer = CustomerFactory(test_clock=clock)
    body = api.post("/v1/billing/meter_events", event(customer)).json()
    assert body["timestamp"] == int(clock.frozen_time.timestamp())
    assert body["created"] == int(clock.frozen_time.timestamp())
    # Real "now" is 100 days after the clock: too far in the clock's future.
    error = error_of(
        api.post(
            "/v1/billing/meter_events", event(customer, timestamp=int(NOW.timestamp()))
        )
    )
    assert error["code"] == "timestamp_in_future"
    ok = api.post(
        "/v1/billing/meter_events",
        event(
            customer,
            timestamp=int((clock.frozen_time - timedelta(days=30)).timestamp()),
        ),
    )
    assert ok.status_code == 200


def test_duplicate_identifier_is_refused_and_not_counted(api, frozen, meter, customer):
    api.post("/v1/billing/meter_events", event(customer, identifier="once"))
    response = api.post("/v1/billing/meter_events", event(customer, identifier="once"))
    error = error_of(response)
    assert (error["param"], error["code"]) == ("identifier", "duplicate_meter_event")
    assert MeterEvent.objects.count() == 1
    assert usage(meter, customer) == Decimal(25)


def test_same_identifier_under_another_event_name_is_fine(api, frozen, meter, customer):
    MeterFactory(event_name="other")
    api.post("/v1/billing/meter_events", event(customer, identifier="shared"))
    response = api.post(
        "/v1/billing/meter_events",
        event(customer, identifier="shared", event_name="other"),
    )
    assert response.status_code == 200


def test_json_body_accepts_integer_values(api, frozen, meter, customer):
    response = api.post_json(
        "/v1/billing/meter_events",
        {
            "event_name": "tokens",
            "payload": {"stripe_customer_id": customer.id, "value": 9},
        },
    )
    assert response.json()["payload"]["value"] == "9"
    error = error_of(
        api.post_json(
            "/v1/billing/meter_events",
            {
                "event_name": "tokens",
                "payload": {"stripe_customer_id": customer.id, "value": 9.5},
            },
        )
    )
    assert error["code"] == "payload_invalid_value"


def test_idempotency_key_replays_the_event(api, frozen, meter, customer):
    headers = {"Idempotency-Key": "retry-1"}
    first = api.post("/v1/billing/meter_events", event(customer), headers=headers)
    second = api.post("/v1/billing/meter_events", event(customer), headers=headers)
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert MeterEvent.objects.count() == 1


@pytest.mark.skipif(
    not settings.IS_POSTGRES,
    reason="SQLite serialises every writer (IMMEDIATE transactions), so concurrent "
    "posts cannot race there; the unique key is exercised by the duplicate test.",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_posts_count_once(secret_key):
    meter = MeterFactory(event_name="tokens")
    customer = CustomerFactory()
    barrier = threading.Barrier(8)
    statuses = []

    def post():
        client = ApiClient(Client(), secret_key)
        barrier.wait()
        try:
            response = client.post(
                "/v1/billing/meter_events", event(customer, identifier="racy")
            )
            statuses.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in statuses) == [200] + [400] * 7
    assert {body["error"]["code"] for status, body in statuses if status == 400} == {
        "duplicate_meter_event"
    }
    assert MeterEvent.objects.count() == 1
    rollup = MeterUsageRollup.objects.get()
    assert (rollup.value_sum, rollup.event_count) == (Decimal(25), 1)
    assert usage(meter, customer, around=datetime.now(UTC)) == Decimal(25)


@pytest.mark.skipif(
    not settings.IS_POSTGRES,
    reason="SQLite serialises every writer, so batches cannot interleave there.",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_overlapping_batches_count_each_event_once():
    from metering.services import EventInput, meter_events_ingest_batch

    meter = MeterFactory(event_name="tokens")
    customers = [CustomerFactory() for _ in range(3)]
    now = datetime.now(UTC)

    def events(order):
        return [
            EventInput(
                event_name="tokens",
                payload={"stripe_customer_id": customers[i % 3].id, "value": "1"},
                identifier=f"overlap-{i}",
                timestamp=now - timedelta(minutes=i),
            )
            for i in order
        ]

    forward, backward = list(range(300)), list(reversed(range(300)))
    barrier = threading.Barrier(4)
    failures = []

    def ingest(order):
        barrier.wait()
        try:
            meter_events_ingest_batch(events=events(order), now=now)
        except Exception as error:  # a deadlock would surface here
            failures.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=ingest, args=(order,))
        for order in (forward, backward, forward[::2], backward[1::2])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert MeterEvent.objects.count() == 300
    assert sum(MeterUsageRollup.objects.values_list("event_count", flat=True)) == 300
    total = sum(usage(meter, customer, around=now) for customer in customers)
    assert total == Decimal(300)


def test_deleting_a_test_clock_removes_its_customers_usage(api, frozen, meter):
    from core.services.test_clocks import test_clock_delete

    clock = TestClockFactory(frozen_time=NOW)
    customer = CustomerFactory(test_clock=clock)
    api.post("/v1/billing/meter_events", event(customer, identifier="on-clock"))
    api.post(
        "/v1/billing/meter_event_adjustments",
        {
            "event_name": "tokens",
            "type": "cancel",
            "cancel": {"identifier": "on-clock"},
        },
    )
    test_clock_delete(test_clock=clock)
    assert not MeterEvent.objects.exists()
    assert not MeterUsageRollup.objects.exists()


@pytest.mark.parametrize("size", [3, 250])
def test_batches_small_and_large_validate_alike(frozen, meter, customer, size):
    """Small batches look meters and customers up in one query, large ones in two."""
    from metering.services import EventInput, meter_events_ingest_batch

    MeterFactory(event_name="retired", status=Meter.Status.INACTIVE)
    good = [
        EventInput(
            event_name="tokens",
            payload={"stripe_customer_id": customer.id, "value": "2"},
            identifier=f"good-{index}",
        )
        for index in range(size)
    ]
    bad = [
        EventInput(
            event_name="tokens", payload={"stripe_customer_id": "cus_x", "value": "1"}
        ),
        EventInput(
            event_name="retired",
            payload={"stripe_customer_id": customer.id, "value": "1"},
        ),
        EventInput(event_name="nothing", payload={}),
        EventInput(
            event_name="tokens",
            payload={"stripe_customer_id": customer.id, "value": "1"},
            identifier="good-0",
        ),
    ]
    result = meter_events_ingest_batch(events=good + bad, now=NOW)
    assert result.accepted == size
    assert [(position - size, error.code) for position, error in result.errors] == [
        (0, "meter_event_customer_not_found"),
        (1, "archived_meter"),
        (2, "no_meter"),
    ]
    assert result.duplicates == [size + 3]
    assert usage(meter, customer) == Decimal(2 * size)


def test_bodies_outside_the_fast_path_are_parsed_alike(api, frozen, meter, customer):
    """Form and JSON are parsed by the view itself; multipart by DRF, the same."""
    client = Client(HTTP_AUTHORIZATION=f"Bearer {api.secret}")
    params = {
        "event_name": "tokens",
        "identifier": "multi",
        "payload[stripe_customer_id]": customer.id,
        "payload[value]": "4",
    }
    response = client.post("/v1/billing/meter_events", params)  # multipart
    assert response.status_code == 200, response.content
    assert response.json()["payload"] == {
        "stripe_customer_id": customer.id,
        "value": "4",
    }
    assert error_of(client.post("/v1/billing/meter_events", params))["code"] == (
        "duplicate_meter_event"
    )
    assert usage(meter, customer) == Decimal(4)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [("{not json", "JSON parse error"), ("[1, 2]", "must be an object")],
)
def test_bad_json_bodies(api, frozen, meter, body, fragment):
    response = api.client.post(
        "/v1/billing/meter_events",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.secret}",
    )
    assert response.status_code == 400
    assert fragment in error_of(response)["message"]


def test_idempotency_keys_are_kept_with_the_event(api, frozen, meter, customer):
    """Meter events answer retries themselves, without the idempotency store."""
    from core.models import IdempotencyKey

    def post(key, **changes):
        return api.post(
            "/v1/billing/meter_events",
            event(customer, identifier="keyed", **changes),
            headers={"Idempotency-Key": key},
        )

    first = post("k1")
    retry = post("k1")
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert error_of(post("k2"))["code"] == "duplicate_meter_event"
    changed = post("k1", payload={"stripe_customer_id": customer.id, "value": "26"})
    assert error_of(changed)["type"] == "idempotency_error"
    assert MeterEvent.objects.count() == 1
    assert usage(meter, customer) == Decimal(25)
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("event_name", [{}, ["tokens"], 5])
@pytest.mark.parametrize(
    "path", ["/v1/billing/meter_events", "/v2/billing/meter_events"]
)
def test_an_event_name_that_is_not_text_is_a_400_with_several_meters(
    api, frozen, meter, customer, path, event_name
):
    # With one active meter a batch reads customers under its key alone; with
    # several, each event's name picks the key, so a name that is no string must
    # be refused there too rather than looked up.
    MeterFactory(event_name="other")
    body = {**event(customer), "event_name": event_name}
    response = api.post_json(path, body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (
        "parameter_invalid",
        "Invalid event_name: must be a string.",
    )
    assert not MeterEvent.objects.exists()


NUL = "\x00"


@pytest.mark.parametrize(
    ("changes", "param", "code"),
    [
        ({"identifier": f"a{NUL}b"}, "identifier", "parameter_invalid"),
        ({"event_name": f"tokens{NUL}"}, "event_name", "parameter_invalid"),
        (
            {"payload_extra": {"model": f"x{NUL}"}},
            "payload[model]",
            "parameter_invalid",
        ),
        ({"payload_extra": {f"m{NUL}": "x"}}, f"payload[m{NUL}]", "parameter_invalid"),
        (
            {"customer_suffix": NUL},
            "payload[stripe_customer_id]",
            "meter_event_customer_not_found",
        ),
    ],
)
@pytest.mark.parametrize(
    "path", ["/v1/billing/meter_events", "/v2/billing/meter_events"]
)
def test_a_nul_character_is_a_400(
    api, frozen, meter, customer, path, changes, param, code
):
    # PostgreSQL keeps no NUL in text: such events are refused, never a 500.
    changes, body = dict(changes), event(customer)
    body["payload"].update(changes.pop("payload_extra", {}))
    body["payload"]["stripe_customer_id"] += changes.pop("customer_suffix", "")
    body.update(changes)
    response = api.post_json(path, body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code
    if path.startswith("/v1"):
        assert error["param"] == param
    assert not MeterEvent.objects.exists()


def test_cancelling_an_identifier_with_a_nul_is_a_400(api, frozen, meter):
    for path, body in [
        (
            "/v1/billing/meter_event_adjustments",
            {"event_name": "tokens", "type": "cancel", "cancel": {"identifier": NUL}},
        ),
        (
            "/v2/billing/meter_event_adjustments",
            {"event_name": "tokens", "type": "cancel", "cancel": {"identifier": NUL}},
        ),
    ]:
        response = api.post_json(path, body)
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == "parameter_invalid"
