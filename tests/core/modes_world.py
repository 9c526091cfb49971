"""Two worlds for the mode tests: one built with an ``sk_live_`` key, one with an
``sk_test_`` key, each with an object of every kind (``test_modes*.py``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.apps import apps
from django.test import Client

from core import modes, tasks
from core.services.api_keys import api_key_create
from tests.helpers import ApiClient

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
MODELS = ("core", "catalog", "metering", "credits", "billing", "alerts", "payments")
# Both modes collect through the simulator here: what is checked is the modes.
SIMULATED = "payments.processors.simulator.Simulator"


@pytest.fixture
def frozen():
    with time_machine.travel(T0, tick=False):
        yield


@pytest.fixture
def queued(monkeypatch):
    """Keep webhook sends queued (no HTTP): the deliveries are what is checked."""
    for task in (tasks.webhook_delivery_send_task, tasks.webhook_lane_send_task):
        monkeypatch.setattr(task, "delay", lambda *args: None)


def mode_client(livemode: bool) -> ApiClient:
    _, secret = api_key_create(name="live" if livemode else "test", livemode=livemode)
    assert secret.startswith("sk_live_" if livemode else "sk_test_")
    return ApiClient(Client(), secret)


def ok(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()


def build_world(api: ApiClient, *, test_clock: bool) -> dict[str, str]:
    """One object of every kind, made through the API; their ids by kind."""
    world: dict[str, str] = {}
    world["customer"] = ok(
        api.post("/v1/customers", {"name": "Jenny Rosen", "email": "j@example.com"})
    )["id"]
    world["product"] = ok(api.post("/v1/products", {"name": "Hypernian Pro"}))["id"]
    world["meter"] = ok(
        api.post(
            "/v1/billing/meters",
            {
                "display_name": "Tokens",
                "event_name": "tokens",
                "default_aggregation": {"formula": "sum"},
            },
        )
    )["id"]
    world["price"] = ok(
        api.post(
            "/v1/prices",
            {
                "product": world["product"],
                "currency": "usd",
                "unit_amount": 20000,
                "recurring": {"interval": "month"},
                "lookup_key": "pro_monthly",
            },
        )
    )["id"]
    metered = ok(
        api.post(
            "/v1/prices",
            {
                "product": world["product"],
                "currency": "usd",
                "unit_amount": 1,
                "recurring": {
                    "interval": "month",
                    "usage_type": "metered",
                    "meter": world["meter"],
                },
            },
        )
    )["id"]
    world["grant"] = ok(
        api.post(
            "/v1/billing/credit_grants",
            {
                "customer": world["customer"],
                "name": "Credits",
                "amount": {
                    "type": "monetary",
                    "monetary": {"currency": "usd", "value": 1000},
                },
                "applicability_config": {"scope": {"price_type": "metered"}},
            },
        )
    )["id"]
    world["coupon"] = ok(
        api.post("/v1/coupons", {"percent_off": 10, "duration": "forever"})
    )["id"]
    world["promotion_code"] = ok(
        api.post(
            "/v1/promotion_codes",
            {"promotion": {"type": "coupon", "coupon": world["coupon"]}},
        )
    )["id"]
    subscription = ok(
        api.post(
            "/v1/subscriptions",
            {
                "customer": world["customer"],
                "items": [{"price": world["price"]}, {"price": metered}],
                "discounts": [{"promotion_code": world["promotion_code"]}],
            },
        )
    )
    world["subscription"] = subscription["id"]
    world["subscription_item"] = subscription["items"]["data"][0]["id"]
    world["invoice"] = subscription["latest_invoice"]
    world["line"] = ok(api.get(f"/v1/invoices/{world['invoice']}/lines"))["data"][0][
        "id"
    ]
    world["credit_note"] = ok(
        api.post("/v1/credit_notes", {"invoice": world["invoice"], "amount": 100})
    )["id"]
    world["commitment"] = ok(
        api.post(
            "/v1/billing/commitments",
            {
                "type": "minimum_spend",
                "subscription": world["subscription"],
                "amount": 5000,
                "currency": "usd",
            },
        )
    )["id"]
    world["balance_transaction"] = ok(
        api.post(
            f"/v1/customers/{world['customer']}/balance_transactions",
            {"amount": -100, "currency": "usd"},
        )
    )["id"]
    world["invoiceitem"] = ok(
        api.post(
            "/v1/invoiceitems",
            {"customer": world["customer"], "amount": 500, "currency": "usd"},
        )
    )["id"]
    world["alert"] = ok(
        api.post(
            "/v1/billing/alerts",
            {
                "alert_type": "usage_threshold",
                "title": "Tokens",
                "usage_threshold": {
                    "gte": 1,
                    "meter": world["meter"],
                    "recurrence": "one_time",
                },
            },
        )
    )["id"]
    world["meter_event"] = ok(
        api.post(
            "/v1/billing/meter_events",
            {
                "event_name": "tokens",
                "identifier": f"evt-{world['customer']}",
                "payload": {"stripe_customer_id": world["customer"], "value": "5"},
            },
        )
    )["identifier"]
    world["feature"] = ok(
        api.post(
            "/v1/entitlements/features", {"name": "API access", "lookup_key": "api"}
        )
    )["id"]
    world["product_feature"] = ok(
        api.post(
            f"/v1/products/{world['product']}/features",
            {"entitlement_feature": world["feature"]},
        )
    )["id"]
    world["entitlement"] = ok(
        api.get("/v1/entitlements/active_entitlements", {"customer": world["customer"]})
    )["data"][0]["id"]
    world["usage_limit"] = ok(
        api.post(
            "/v1/billing/usage_limits",
            {
                "limit_type": "usage",
                "customer": world["customer"],
                "feature": "api",
                "usage": {"meter": world["meter"], "gte": 1_000},
            },
        )
    )["id"]
    world["webhook_endpoint"] = ok(
        api.post(
            "/v1/webhook_endpoints",
            {"url": "https://example.com/hooks", "enabled_events": ["*"]},
        )
    )["id"]
    world["tax_rate"] = ok(
        api.post(
            "/v1/tax_rates",
            {"display_name": "VAT", "percentage": "19", "inclusive": "false"},
        )
    )["id"]
    world["tax_id"] = ok(
        api.post(
            f"/v1/customers/{world['customer']}/tax_ids",
            {"type": "eu_vat", "value": "DE136695976"},
        )
    )["id"]
    world["portal_session"] = ok(
        api.post("/v1/billing_portal/sessions", {"customer": world["customer"]})
    )["id"]
    _payments(api, world)
    world["transaction"] = ok(
        api.get(
            "/v1/billing/credit_balance_transactions",
            {"customer": world["customer"]},
        )
    )["data"][0]["id"]
    if test_clock:
        world["test_clock"] = ok(
            api.post(
                "/v1/test_helpers/test_clocks", {"frozen_time": int(T0.timestamp())}
            )
        )["id"]
    _rate_cards(api, world)
    world["event"] = ok(api.get("/v1/events", {"limit": 1}))["data"][0]["id"]
    return world


def _rate_cards(api: ApiClient, world: dict[str, str]) -> None:
    """A metered item, a rate card with a published version, a subscription that
    follows it and a migration's dry run (``/v2/billing``)."""
    world["metered_item"] = ok(
        api.post_json(
            "/v2/billing/metered_items",
            {"display_name": "Calls", "meter": world["meter"]},
        )
    )["id"]
    world["rate_card"] = ok(
        api.post_json(
            "/v2/billing/rate_cards",
            {"display_name": "Plan", "currency": "usd", "service_interval": "month"},
        )
    )["id"]
    card = f"/v2/billing/rate_cards/{world['rate_card']}"
    rate = ok(
        api.post_json(
            f"{card}/rates", {"metered_item": world["metered_item"], "unit_amount": "2"}
        )
    )
    world["rate_card_rate"] = rate["id"]
    world["rate_card_version"] = rate["rate_card_version"]
    ok(api.post_json(f"{card}/versions/{world['rate_card_version']}/publish", {}))
    following = ok(
        api.post(
            "/v1/subscriptions",
            {"customer": world["customer"], "rate_card": world["rate_card"]},
        )
    )["id"]
    world["rate_card_migration"] = ok(
        api.post_json(
            "/v2/billing/rate_card_migrations",
            {
                "rate_card_version": world["rate_card_version"],
                "subscriptions": [following],
            },
        )
    )["id"]


def _payments(api: ApiClient, world: dict[str, str]) -> None:
    """A card on the customer, an invoice paid with it, part of it refunded."""
    world["payment_method"] = ok(
        api.post("/v1/payment_methods", {"type": "card", "card": {"token": "tok_visa"}})
    )["id"]
    ok(
        api.post(
            f"/v1/payment_methods/{world['payment_method']}/attach",
            {"customer": world["customer"]},
        )
    )
    invoice = ok(
        api.post(
            "/v1/invoices",
            {
                "customer": world["customer"],
                "pending_invoice_items_behavior": "exclude",
            },
        )
    )["id"]
    ok(
        api.post(
            "/v1/invoiceitems",
            {
                "customer": world["customer"],
                "invoice": invoice,
                "amount": 700,
                "currency": "usd",
            },
        )
    )
    ok(api.post(f"/v1/invoices/{invoice}/finalize"))
    ok(
        api.post(
            f"/v1/invoices/{invoice}/pay", {"payment_method": world["payment_method"]}
        )
    )
    payment = ok(api.get("/v1/invoice_payments", {"invoice": invoice}))["data"][0]
    world["invoice_payment"] = payment["id"]
    world["payment_intent"] = payment["payment"]["payment_intent"]
    world["refund"] = ok(
        api.post(
            "/v1/refunds", {"payment_intent": world["payment_intent"], "amount": 100}
        )
    )["id"]


@pytest.fixture
def worlds(db, frozen, queued, settings):
    settings.TALLY_PAYMENT_PROCESSORS = {"test": SIMULATED, "live": SIMULATED}
    """(live key, live world, test key, test world), built in that order."""
    live = mode_client(livemode=True)
    live_world = build_world(live, test_clock=False)
    all_rows_in_mode(livemode=True)
    test = mode_client(livemode=False)
    test_world = build_world(test, test_clock=True)
    return live, live_world, test, test_world


def all_rows_in_mode(*, livemode: bool) -> None:
    """Every row of every model with a mode is in ``livemode`` (side effects too)."""
    for model in apps.get_models():
        if model._meta.app_label in MODELS and modes.has_mode(model):
            if model._meta.model_name == "apikey":
                continue
            modes_found = set(
                model._base_manager.values_list("livemode", flat=True).distinct()
            )
            assert modes_found <= {livemode}, model._meta.label


def world_ids(world: dict[str, str]) -> set[str]:
    return {value for kind, value in world.items() if kind != "meter_event"}


def leaks(body: str, other: dict[str, str]) -> set[str]:
    return {object_id for object_id in world_ids(other) if object_id in body}


def livemodes(data) -> set[bool]:
    """Every ``livemode`` in an answer, nested objects included."""
    found: set[bool] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "livemode":
                found.add(value)
            else:
                found |= livemodes(value)
    elif isinstance(data, list):
        for item in data:
            found |= livemodes(item)
    return found


def sides(worlds, livemode: bool):
    """(the key's client, its own world, the other mode's world)."""
    live, live_world, test, test_world = worlds
    if livemode:
        return live, live_world, test_world
    return test, test_world, live_world
