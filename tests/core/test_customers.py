"""Customers API: fields, updates, deletion, list filters, events."""

from datetime import UTC, datetime

import pytest

from core.models import Customer, Event
from tests.helpers import error_of


def test_create_with_every_field(api):
    params = {
        "name": "Jenny Rosen",
        "email": "jenny.rosen@example.com",
        "description": "LLM user",
        "phone": "+1 555 0100",
        "address": {
            "line1": "510 Townsend St",
            "city": "San Francisco",
            "postal_code": "94103",
            "state": "CA",
            "country": "US",
        },
        "shipping": {"name": "Jenny", "address": {"city": "SF"}},
        "balance": -500,
        "invoice_prefix": "JENNY01",
        "next_invoice_sequence": 7,
        "invoice_settings": {
            "footer": "Thanks",
            "custom_fields": [{"name": "VAT", "value": "X"}],
        },
        "preferred_locales": ["en", "de"],
        "tax_exempt": "reverse",
        "metadata": {"tier": "gold"},
    }
    body = api.post("/v1/customers", params).json()
    assert body["object"] == "customer"
    assert body["id"].startswith("cus_")
    assert body["livemode"] is False
    for key in (
        "name",
        "email",
        "description",
        "phone",
        "balance",
        "invoice_prefix",
        "next_invoice_sequence",
        "preferred_locales",
        "tax_exempt",
        "metadata",
    ):
        assert body[key] == params[key], key
    assert body["address"]["city"] == "San Francisco"
    assert body["invoice_settings"]["footer"] == "Thanks"
    assert body["invoice_settings"]["custom_fields"] == [{"name": "VAT", "value": "X"}]
    assert api.get(f"/v1/customers/{body['id']}").json() == body


def test_invoice_prefix_rules(api):
    assert error_of(api.post("/v1/customers", {"invoice_prefix": "ab"}))["param"] == (
        "invoice_prefix"
    )
    api.post("/v1/customers", {"invoice_prefix": "TAKEN"})
    error = error_of(api.post("/v1/customers", {"invoice_prefix": "TAKEN"}))
    assert error["param"] == "invoice_prefix"
    generated = api.post("/v1/customers", {}).json()["invoice_prefix"]
    assert len(generated) == 8
    assert generated.isalnum()
    assert generated.upper() == generated


def test_update_records_previous_attributes(api):
    customer = api.post(
        "/v1/customers", {"name": "Old", "email": "a@example.com"}
    ).json()
    api.post(f"/v1/customers/{customer['id']}", {"name": "New"})
    event = Event.objects.filter(type="customer.updated").get()
    assert event.data["object"]["name"] == "New"
    assert event.data["previous_attributes"] == {"name": "Old"}


def test_update_without_change_records_nothing(api):
    customer = api.post("/v1/customers", {"name": "Same"}).json()
    api.post(f"/v1/customers/{customer['id']}", {"name": "Same"})
    assert not Event.objects.filter(type="customer.updated").exists()


def test_delete(api):
    customer = api.post("/v1/customers", {"name": "Gone"}).json()
    response = api.delete(f"/v1/customers/{customer['id']}")
    assert response.json() == {
        "id": customer["id"],
        "object": "customer",
        "deleted": True,
    }
    assert api.get(f"/v1/customers/{customer['id']}").json() == response.json()
    assert api.get("/v1/customers").json()["data"] == []
    assert api.post(f"/v1/customers/{customer['id']}", {"name": "x"}).status_code == 404
    assert Event.objects.filter(type="customer.deleted").count() == 1


def test_list_filters_email_and_test_clock(api):
    clock = api.post(
        "/v1/test_helpers/test_clocks",
        {"frozen_time": int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())},
    ).json()
    api.post("/v1/customers", {"email": "a@example.com"})
    api.post("/v1/customers", {"email": "b@example.com"})
    on_clock = api.post(
        "/v1/customers", {"email": "a@example.com", "test_clock": clock["id"]}
    ).json()
    assert on_clock["test_clock"] == clock["id"]
    assert on_clock["created"] == clock["frozen_time"]
    default = api.get("/v1/customers", {"email": "a@example.com"}).json()["data"]
    assert [c["test_clock"] for c in default] == [None]
    clocked = api.get("/v1/customers", {"test_clock": clock["id"]}).json()["data"]
    assert [c["id"] for c in clocked] == [on_clock["id"]]


def test_expand_test_clock(api):
    clock = api.post("/v1/test_helpers/test_clocks", {"frozen_time": 1767225600}).json()
    customer = api.post(
        "/v1/customers", {"test_clock": clock["id"], "expand": ["test_clock"]}
    ).json()
    assert customer["test_clock"]["object"] == "test_helpers.test_clock"
    assert customer["test_clock"]["id"] == clock["id"]
    error = error_of(api.get(f"/v1/customers/{customer['id']}", {"expand": ["name"]}))
    assert error["param"] == "expand"


def test_unknown_test_clock(api):
    error = error_of(api.post("/v1/customers", {"test_clock": "clock_nope"}))
    assert error["param"] == "test_clock"


def test_events_api(api):
    customer = api.post(
        "/v1/customers", {"name": "E"}, headers={"Idempotency-Key": "ev1"}
    ).json()
    api.post(f"/v1/customers/{customer['id']}", {"name": "F"})
    events = api.get("/v1/events", {"type": "customer.*"}).json()["data"]
    assert [e["type"] for e in events] == ["customer.updated", "customer.created"]
    created = events[1]
    assert created["request"]["idempotency_key"] == "ev1"
    assert created["request"]["id"].startswith("req_")
    assert created["data"]["object"]["id"] == customer["id"]
    assert api.get(f"/v1/events/{created['id']}").json() == created
    only = api.get("/v1/events", {"types": ["customer.created"]}).json()["data"]
    assert [e["type"] for e in only] == ["customer.created"]
    assert (
        error_of(api.get("/v1/events", {"type": "a", "types": ["b"]}))["param"]
        == "types"
    )


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"balance": 10**12}, "balance"),
        ({"balance": -(10**12)}, "balance"),
        ({"balance": 10**30}, "balance"),  # past the 64-bit column
        ({"next_invoice_sequence": 10**9}, "next_invoice_sequence"),
        ({"next_invoice_sequence": 2**31}, "next_invoice_sequence"),  # 32-bit
    ],
)
def test_numbers_beyond_their_columns_are_a_400(api, params, param):
    error = error_of(api.post("/v1/customers", params))
    assert (error["param"], error["code"]) == (param, "parameter_invalid")
    assert not Customer.objects.exists()


def test_numbers_at_their_limits_are_kept(api):
    body = api.post(
        "/v1/customers",
        {"balance": -999_999_999_999, "next_invoice_sequence": 999_999_999},
    ).json()
    assert (body["balance"], body["next_invoice_sequence"]) == (
        -999_999_999_999,
        999_999_999,
    )


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"metadata": {"k": "a\x00b"}}, "metadata", "parameter_invalid"),
        ({"metadata": {"k\x00": "ab"}}, "metadata", "parameter_invalid"),
        (
            {"invoice_settings": {"rendering_options": {"template": "a\x00"}}},
            "invoice_settings[rendering_options][template]",
            "parameter_invalid",
        ),
        (
            {"invoice_settings": {"rendering_options": {"t\x00": "a"}}},
            "invoice_settings[rendering_options][t\x00]",
            "parameter_unknown",
        ),
    ],
)
def test_nul_characters_are_a_400(api, params, param, code):
    # PostgreSQL keeps no NUL in text or JSON.
    error = error_of(api.post("/v1/customers", params))
    assert (error["param"], error["code"]) == (param, code)
    assert not Customer.objects.exists()


def test_rendering_options_are_kept(api):
    body = api.post(
        "/v1/customers",
        {
            "invoice_settings": {
                "rendering_options": {"amount_tax_display": "exclude_tax"}
            }
        },
    ).json()
    assert body["invoice_settings"]["rendering_options"] == {
        "amount_tax_display": "exclude_tax"
    }
