"""Meters API: create, retrieve, update, list, deactivate, reactivate, events."""

import pytest

from core.models import Event
from tests.helpers import error_of

CREATE = {
    "display_name": "Hypernian input tokens",
    "event_name": "hypernian_input_tokens",
    "default_aggregation": {"formula": "sum"},
}


def test_create_returns_stripes_shape(api):
    body = api.post("/v1/billing/meters", CREATE).json()
    assert body["id"].startswith("mtr_")
    assert body == {
        "id": body["id"],
        "object": "billing.meter",
        "created": body["created"],
        "customer_mapping": {
            "event_payload_key": "stripe_customer_id",
            "type": "by_id",
        },
        "default_aggregation": {"formula": "sum"},
        "dimension_payload_keys": [],
        "display_name": "Hypernian input tokens",
        "event_name": "hypernian_input_tokens",
        "event_time_window": None,
        "livemode": False,
        "status": "active",
        "status_transitions": {"deactivated_at": None},
        "updated": body["created"],
        "value_settings": {"event_payload_key": "value"},
    }
    assert api.get(f"/v1/billing/meters/{body['id']}").json() == body


def test_create_with_custom_keys_and_window(api):
    body = api.post(
        "/v1/billing/meters",
        {
            **CREATE,
            "default_aggregation": {"formula": "last"},
            "customer_mapping": {"event_payload_key": "account", "type": "by_id"},
            "value_settings": {"event_payload_key": "tokens"},
            "event_time_window": "day",
        },
    ).json()
    assert body["customer_mapping"] == {"event_payload_key": "account", "type": "by_id"}
    assert body["value_settings"] == {"event_payload_key": "tokens"}
    assert body["default_aggregation"] == {"formula": "last"}
    assert body["event_time_window"] == "day"


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        (
            {"event_name": "x", "default_aggregation": {"formula": "sum"}},
            "display_name",
            "parameter_missing",
        ),
        (
            {"display_name": "X", "default_aggregation": {"formula": "sum"}},
            "event_name",
            "parameter_missing",
        ),
        (
            {"display_name": "X", "event_name": "x"},
            "default_aggregation",
            "parameter_missing",
        ),
        (
            {**CREATE, "default_aggregation": {"formula": "median"}},
            "default_aggregation[formula]",
            "parameter_invalid",
        ),
        (
            {**CREATE, "event_time_window": "week"},
            "event_time_window",
            "parameter_invalid",
        ),
        (
            {
                **CREATE,
                "customer_mapping": {"event_payload_key": "a", "type": "by_name"},
            },
            "customer_mapping[type]",
            "parameter_invalid",
        ),
        ({**CREATE, "event_name": "e" * 101}, "event_name", "parameter_invalid"),
        ({**CREATE, "display_name": "d" * 251}, "display_name", "parameter_invalid"),
        (
            {**CREATE, "value_settings": {"event_payload_key": "stripe_customer_id"}},
            "value_settings[event_payload_key]",
            "parameter_invalid",
        ),
        ({**CREATE, "formula": "sum"}, "formula", "parameter_unknown"),
    ],
)
def test_create_validation(api, params, param, code):
    error = error_of(api.post("/v1/billing/meters", params))
    assert (error["param"], error["code"]) == (param, code)


def test_one_active_meter_per_event_name(api):
    first = api.post("/v1/billing/meters", CREATE).json()
    error = error_of(api.post("/v1/billing/meters", CREATE))
    assert error["param"] == "event_name"
    assert error["code"] == "resource_already_exists"
    api.post(f"/v1/billing/meters/{first['id']}/deactivate")
    second = api.post("/v1/billing/meters", CREATE).json()
    assert second["status"] == "active"
    # The old meter cannot come back while the new one holds the event name.
    error = error_of(api.post(f"/v1/billing/meters/{first['id']}/reactivate"))
    assert error["code"] == "resource_already_exists"


def test_update_changes_only_display_name(api):
    meter = api.post("/v1/billing/meters", CREATE).json()
    updated = api.post(f"/v1/billing/meters/{meter['id']}", {"display_name": "Input"})
    assert updated.json()["display_name"] == "Input"
    error = error_of(api.post(f"/v1/billing/meters/{meter['id']}", {"event_name": "x"}))
    assert (error["param"], error["code"]) == ("event_name", "parameter_unknown")
    event = Event.objects.get(type="billing.meter.updated")
    assert event.data["previous_attributes"]["display_name"] == "Hypernian input tokens"


def test_deactivate_and_reactivate(api, now):
    meter = api.post("/v1/billing/meters", CREATE).json()
    inactive = api.post(f"/v1/billing/meters/{meter['id']}/deactivate").json()
    assert inactive["status"] == "inactive"
    assert inactive["status_transitions"]["deactivated_at"] is not None
    error = error_of(api.post(f"/v1/billing/meters/{meter['id']}/deactivate"))
    assert error["code"] == "resource_invalid_state"
    active = api.post(f"/v1/billing/meters/{meter['id']}/reactivate").json()
    assert active["status"] == "active"
    assert active["status_transitions"]["deactivated_at"] is None
    types = list(Event.objects.order_by("created", "id").values_list("type", flat=True))
    assert types == [
        "billing.meter.created",
        "billing.meter.deactivated",
        "billing.meter.reactivated",
    ]


def test_list_filters_by_status(api):
    kept = api.post("/v1/billing/meters", CREATE).json()
    gone = api.post("/v1/billing/meters", {**CREATE, "event_name": "other"}).json()
    api.post(f"/v1/billing/meters/{gone['id']}/deactivate")
    listed = api.get("/v1/billing/meters").json()
    assert listed["object"] == "list"
    assert listed["url"] == "/v1/billing/meters"
    assert [m["id"] for m in listed["data"]] == [gone["id"], kept["id"]]
    active = api.get("/v1/billing/meters", {"status": "active"}).json()["data"]
    assert [m["id"] for m in active] == [kept["id"]]
    inactive = api.get("/v1/billing/meters", {"status": "inactive"}).json()["data"]
    assert [m["id"] for m in inactive] == [gone["id"]]


def test_unknown_meter_is_404(api):
    response = api.get("/v1/billing/meters/mtr_missing")
    assert response.status_code == 404
    assert error_of(response)["code"] == "resource_missing"
    assert (
        error_of(api.post("/v1/billing/meters/mtr_missing/deactivate"))["param"] == "id"
    )
