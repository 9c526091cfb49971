"""Meter dimensions: declared at creation, extracted on every ingestion path into a
dimension set stored with the event and its rollup, never read from JSON."""

import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from metering import selectors, services
from metering.dimensions import dimension_set_id
from metering.models import Meter, MeterDimensionSet, MeterEvent, MeterUsageRollup
from metering.services import EventInput
from metering.services.validation import Lookups, plain_rows, validate
from tests.helpers import error_of
from tests.metering.factories import CustomerFactory

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
START = datetime(2026, 4, 30, tzinfo=UTC)
END = datetime(2026, 5, 2, tzinfo=UTC)

CREATE = {
    "display_name": "Tokens",
    "event_name": "tokens",
    "default_aggregation": {"formula": "sum"},
    "dimension_payload_keys": ["model", "region"],
}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def meter(db):
    return services.meter_create(
        display_name="Tokens",
        event_name="tokens",
        formula="sum",
        dimension_payload_keys=["model", "region"],
        now=NOW,
        livemode=False,
    )


@pytest.fixture
def customer(db):
    return CustomerFactory()


def send(customer, value, *, at=None, identifier=None, **dimensions):
    return services.meter_event_create(
        event_name="tokens",
        payload={"stripe_customer_id": customer.id, "value": str(value), **dimensions},
        identifier=identifier,
        timestamp=at,
        now=NOW,
    )


def usage(meter, customer, **conditions):
    segment = tuple(sorted(conditions.items())) or None
    return selectors.meter_usage_for_period(
        meter=meter, customer_id=customer.id, start=START, end=END, segment=segment
    )


# ---- the meter -------------------------------------------------------------------


def test_api_create_shows_dimension_payload_keys(api):
    body = api.post("/v1/billing/meters", CREATE).json()
    assert body["dimension_payload_keys"] == ["model", "region"]
    assert api.get(f"/v1/billing/meters/{body['id']}").json() == body


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"dimension_payload_keys": ["model", "model"]}, "dimension_payload_keys[1]"),
        (
            {"dimension_payload_keys": ["stripe_customer_id"]},
            "dimension_payload_keys[0]",
        ),
        ({"dimension_payload_keys": ["value"]}, "dimension_payload_keys[0]"),
        (
            {"default_aggregation": {"formula": "unique_count"}},
            "default_aggregation[unique_payload_key]",
        ),
        (
            {
                "default_aggregation": {
                    "formula": "unique_count",
                    "unique_payload_key": "user",
                }
            },
            "default_aggregation[unique_payload_key]",
        ),
        (
            {"default_aggregation": {"formula": "sum", "unique_payload_key": "model"}},
            "default_aggregation[unique_payload_key]",
        ),
        (
            {"default_aggregation": {"formula": "max"}, "event_time_window": "hour"},
            "event_time_window",
        ),
        (
            {
                "default_aggregation": {"formula": "time_weighted_sum"},
                "event_time_window": "day",
            },
            "event_time_window",
        ),
    ],
)
def test_bad_meters_are_refused_and_nothing_is_written(api, extra, param):
    response = api.post("/v1/billing/meters", {**CREATE, **extra})
    assert response.status_code == 400
    assert error_of(response)["param"] == param
    assert not Meter.objects.exists()


def test_dimension_keys_cannot_be_updated(api):
    meter = api.post("/v1/billing/meters", CREATE).json()
    response = api.post(
        f"/v1/billing/meters/{meter['id']}", {"dimension_payload_keys": ["other"]}
    )
    assert response.status_code == 400
    assert Meter.objects.get().dimension_payload_keys == ["model", "region"]


# ---- ingestion -------------------------------------------------------------------


def test_v1_event_stores_its_dimension_set(meter, customer):
    event = send(customer, 5, model="large", region="eu")
    stored = MeterEvent.objects.get(pk=event.pk)
    assert stored.dimensions is None  # declared keys live in the set, not in JSON
    assert stored.dimension_set == dimension_set_id(meter.id, ("large", "eu"))
    row = MeterDimensionSet.objects.get(pk=stored.dimension_set)
    assert row.values == {"model": "large", "region": "eu"}
    assert row.meter_id == meter.id
    rollup = MeterUsageRollup.objects.get()
    assert rollup.dimension_set == stored.dimension_set
    assert rollup.value_sum == 5


def test_missing_key_is_the_empty_segment(meter, customer):
    send(customer, 5, model="large")
    send(customer, 7)
    assert usage(meter, customer, region="") == 12
    assert usage(meter, customer, model="") == 7
    assert usage(meter, customer, model="large", region="") == 5
    assert usage(meter, customer) == 12


def test_undeclared_keys_stay_in_the_event_json(meter, customer):
    event = send(customer, 5, model="small", note="x")
    stored = MeterEvent.objects.get(pk=event.pk)
    assert stored.dimensions == {"note": "x"}
    assert usage(meter, customer, model="small") == 5


def test_api_echoes_the_payload_with_dimensions(api, meter, customer):
    body = api.post(
        "/v1/billing/meter_events",
        {
            "event_name": "tokens",
            "payload": {
                "stripe_customer_id": customer.id,
                "value": "3",
                "model": "large",
            },
        },
    ).json()
    assert body["payload"] == {
        "stripe_customer_id": customer.id,
        "value": "3",
        "model": "large",
    }


def test_segments_split_the_usage(meter, customer):
    send(customer, 100, model="large", region="eu")
    send(customer, 20, model="large", region="us")
    send(customer, 3, model="small", region="eu")
    assert usage(meter, customer, model="large") == 120
    assert usage(meter, customer, model="small") == 3
    assert usage(meter, customer, region="eu") == 103
    assert usage(meter, customer, model="large", region="eu") == 100
    assert usage(meter, customer, model="medium") == 0
    assert usage(meter, customer) == 123


def test_segments_at_period_edges_read_raw_events(meter, customer):
    # Edges that are not whole hours come from raw events, per dimension set too.
    send(customer, 1, at=START + timedelta(minutes=30), model="large")
    send(customer, 2, at=START + timedelta(minutes=40), model="small")
    value = selectors.meter_usage_for_period(
        meter=meter,
        customer_id=customer.id,
        start=START + timedelta(minutes=35),
        end=END,
        segment=(("model", "small"),),
    )
    assert value == 2


def test_batch_fast_path_equals_validate_for_dimension_events(meter, customer):
    events = [
        EventInput(
            "tokens",
            {"stripe_customer_id": customer.id, "value": "4", "model": "large"},
            f"e{i}",
            NOW,
        )
        for i in range(3)
    ]
    lookups = Lookups(events, NOW, livemode=False)
    fast = plain_rows(events, lookups, False)
    assert fast == [validate(event, lookups, False) for event in events]
    # An undeclared key is not plain: the general path keeps it in JSON.
    odd = [events[0]._replace(payload={**events[0].payload, "note": "x"})]
    assert plain_rows(odd, Lookups(odd, NOW, livemode=False), False) is None


def test_batch_and_cancel_keep_the_segment_rollup(meter, customer):
    result = services.meter_events_ingest_batch(
        events=[
            EventInput(
                "tokens",
                {"stripe_customer_id": customer.id, "value": str(v), "model": m},
                f"b{v}",
                NOW - timedelta(hours=2),
            )
            for v, m in [(10, "large"), (30, "large"), (5, "small")]
        ],
        now=NOW,
        livemode=False,
    )
    assert result.accepted == 3
    assert usage(meter, customer, model="large") == 40
    services.meter_event_cancel(event_name="tokens", identifier="b30", now=NOW)
    assert usage(meter, customer, model="large") == 10
    assert usage(meter, customer, model="small") == 5


def test_v2_stream_with_dimensions(api, meter, customer):
    token = api.post_json("/v2/billing/meter_event_session", {}).json()[
        "authentication_token"
    ]
    response = Client().post(
        "/v2/billing/meter_event_stream",
        {
            "events": [
                {
                    "event_name": "tokens",
                    "identifier": f"s{i}",
                    "payload": {
                        "stripe_customer_id": customer.id,
                        "value": "2",
                        "model": model,
                    },
                }
                for i, model in enumerate(["large", "large", "small"])
            ]
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    assert usage(meter, customer, model="large") == 4
    assert usage(meter, customer, model="small") == 2


def test_bulk_import_with_dimensions(meter, customer, tmp_path):
    path = tmp_path / "events.ndjson"
    path.write_text(
        "\n".join(
            json.dumps(
                {
                    "event_name": "tokens",
                    "identifier": f"i{i}",
                    "timestamp": int((NOW - timedelta(hours=1)).timestamp()),
                    "payload": {
                        "stripe_customer_id": customer.id,
                        "value": "1",
                        "model": "large" if i % 3 else "small",
                    },
                }
            )
            for i in range(30)
        )
    )
    call_command(
        "import_meter_events", str(path), "--no-progress", stdout=io.StringIO()
    )
    assert usage(meter, customer, model="large") == 20
    assert usage(meter, customer, model="small") == 10
    assert usage(meter, customer) == Decimal(30)


@pytest.mark.parametrize("undeclared", [False, True], ids=["sets only", "with JSON"])
def test_a_copied_batch_keeps_each_events_dimension_set(meter, customer, undeclared):
    """From ``COPY_FROM`` rows a batch goes in by COPY: of the plain columns and
    the dimension set when no event has undeclared keys, of every column else."""
    from metering.storage.postgres import COPY_FROM

    count = COPY_FROM + 200
    stamp = int((NOW - timedelta(hours=1)).timestamp())
    documents = [
        {
            "event_name": "tokens",
            "identifier": f"copy-{i}",
            "timestamp": stamp,
            "payload": {
                "stripe_customer_id": customer.id,
                "value": "2",
                "model": ("large", "small", "")[i % 3],
                "region": "eu",
                **({"team": "core"} if undeclared and i == 7 else {}),
            },
        }
        for i in range(count)
    ]
    if undeclared:
        at = NOW - timedelta(hours=1)
        events = [
            EventInput(d["event_name"], d["payload"], d["identifier"], at)
            for d in documents
        ]
        services.meter_events_ingest_batch(events=events, now=NOW)
    else:
        stored = services.meter_events_ingest_documents(
            documents=documents, now=NOW, unix_seconds=True
        )
        assert stored.accepted == count
    large = dimension_set_id(meter.id, ("large", "eu"))
    events = MeterEvent.objects.filter(meter=meter)
    assert events.filter(dimension_set=large).count() == (count + 2) // 3
    assert not events.filter(dimension_set=0).exists()
    assert events.exclude(dimensions=None).count() == (1 if undeclared else 0)
    assert usage(meter, customer, model="large") == 2 * ((count + 2) // 3)
    assert usage(meter, customer, model="") == 2 * (count // 3)
    assert usage(meter, customer) == 2 * count
