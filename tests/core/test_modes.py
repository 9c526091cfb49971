"""Live and test modes: a key sees, lists and writes its own mode's objects only.

Two worlds are built through the API, one with an ``sk_live_`` key and one with an
``sk_test_`` key, each with an object of every kind. The list and retrieve routes
are read from the URL conf, so a new route is covered (or fails here, naming the
id it needs) without editing this file's checks.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from billing.models import Invoice
from core import modes, tasks
from core.models import Event, WebhookDelivery
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


def _client(livemode: bool) -> ApiClient:
    _, secret = api_key_create(name="live" if livemode else "test", livemode=livemode)
    assert secret.startswith("sk_live_" if livemode else "sk_test_")
    return ApiClient(Client(), secret)


def _ok(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()


def build_world(api: ApiClient, *, test_clock: bool) -> dict[str, str]:
    """One object of every kind, made through the API; their ids by kind."""
    world: dict[str, str] = {}
    world["customer"] = _ok(
        api.post("/v1/customers", {"name": "Jenny Rosen", "email": "j@example.com"})
    )["id"]
    world["product"] = _ok(api.post("/v1/products", {"name": "Hypernian Pro"}))["id"]
    world["meter"] = _ok(
        api.post(
            "/v1/billing/meters",
            {
                "display_name": "Tokens",
                "event_name": "tokens",
                "default_aggregation": {"formula": "sum"},
            },
        )
    )["id"]
    world["price"] = _ok(
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
    metered = _ok(
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
    world["grant"] = _ok(
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
    world["coupon"] = _ok(
        api.post("/v1/coupons", {"percent_off": 10, "duration": "forever"})
    )["id"]
    world["promotion_code"] = _ok(
        api.post(
            "/v1/promotion_codes",
            {"promotion": {"type": "coupon", "coupon": world["coupon"]}},
        )
    )["id"]
    subscription = _ok(
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
    world["line"] = _ok(api.get(f"/v1/invoices/{world['invoice']}/lines"))["data"][0][
        "id"
    ]
    world["credit_note"] = _ok(
        api.post("/v1/credit_notes", {"invoice": world["invoice"], "amount": 100})
    )["id"]
    world["commitment"] = _ok(
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
    world["balance_transaction"] = _ok(
        api.post(
            f"/v1/customers/{world['customer']}/balance_transactions",
            {"amount": -100, "currency": "usd"},
        )
    )["id"]
    world["invoiceitem"] = _ok(
        api.post(
            "/v1/invoiceitems",
            {"customer": world["customer"], "amount": 500, "currency": "usd"},
        )
    )["id"]
    world["alert"] = _ok(
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
    world["meter_event"] = _ok(
        api.post(
            "/v1/billing/meter_events",
            {
                "event_name": "tokens",
                "identifier": f"evt-{world['customer']}",
                "payload": {"stripe_customer_id": world["customer"], "value": "5"},
            },
        )
    )["identifier"]
    world["feature"] = _ok(
        api.post(
            "/v1/entitlements/features", {"name": "API access", "lookup_key": "api"}
        )
    )["id"]
    world["product_feature"] = _ok(
        api.post(
            f"/v1/products/{world['product']}/features",
            {"entitlement_feature": world["feature"]},
        )
    )["id"]
    world["entitlement"] = _ok(
        api.get("/v1/entitlements/active_entitlements", {"customer": world["customer"]})
    )["data"][0]["id"]
    world["usage_limit"] = _ok(
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
    world["webhook_endpoint"] = _ok(
        api.post(
            "/v1/webhook_endpoints",
            {"url": "https://example.com/hooks", "enabled_events": ["*"]},
        )
    )["id"]
    world["tax_rate"] = _ok(
        api.post(
            "/v1/tax_rates",
            {"display_name": "VAT", "percentage": "19", "inclusive": "false"},
        )
    )["id"]
    world["tax_id"] = _ok(
        api.post(
            f"/v1/customers/{world['customer']}/tax_ids",
            {"type": "eu_vat", "value": "DE136695976"},
        )
    )["id"]
    world["portal_session"] = _ok(
        api.post("/v1/billing_portal/sessions", {"customer": world["customer"]})
    )["id"]
    _payments(api, world)
    world["transaction"] = _ok(
        api.get(
            "/v1/billing/credit_balance_transactions",
            {"customer": world["customer"]},
        )
    )["data"][0]["id"]
    if test_clock:
        world["test_clock"] = _ok(
            api.post(
                "/v1/test_helpers/test_clocks", {"frozen_time": int(T0.timestamp())}
            )
        )["id"]
    _rate_cards(api, world)
    world["event"] = _ok(api.get("/v1/events", {"limit": 1}))["data"][0]["id"]
    return world


def _rate_cards(api: ApiClient, world: dict[str, str]) -> None:
    """A metered item, a rate card with a published version, a subscription that
    follows it and a migration's dry run (``/v2/billing``)."""
    world["metered_item"] = _ok(
        api.post_json(
            "/v2/billing/metered_items",
            {"display_name": "Calls", "meter": world["meter"]},
        )
    )["id"]
    world["rate_card"] = _ok(
        api.post_json(
            "/v2/billing/rate_cards",
            {"display_name": "Plan", "currency": "usd", "service_interval": "month"},
        )
    )["id"]
    card = f"/v2/billing/rate_cards/{world['rate_card']}"
    rate = _ok(
        api.post_json(
            f"{card}/rates", {"metered_item": world["metered_item"], "unit_amount": "2"}
        )
    )
    world["rate_card_rate"] = rate["id"]
    world["rate_card_version"] = rate["rate_card_version"]
    _ok(api.post_json(f"{card}/versions/{world['rate_card_version']}/publish", {}))
    following = _ok(
        api.post(
            "/v1/subscriptions",
            {"customer": world["customer"], "rate_card": world["rate_card"]},
        )
    )["id"]
    world["rate_card_migration"] = _ok(
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
    world["payment_method"] = _ok(
        api.post("/v1/payment_methods", {"type": "card", "card": {"token": "tok_visa"}})
    )["id"]
    _ok(
        api.post(
            f"/v1/payment_methods/{world['payment_method']}/attach",
            {"customer": world["customer"]},
        )
    )
    invoice = _ok(
        api.post(
            "/v1/invoices",
            {
                "customer": world["customer"],
                "pending_invoice_items_behavior": "exclude",
            },
        )
    )["id"]
    _ok(
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
    _ok(api.post(f"/v1/invoices/{invoice}/finalize"))
    _ok(
        api.post(
            f"/v1/invoices/{invoice}/pay", {"payment_method": world["payment_method"]}
        )
    )
    payment = _ok(api.get("/v1/invoice_payments", {"invoice": invoice}))["data"][0]
    world["invoice_payment"] = payment["id"]
    world["payment_intent"] = payment["payment"]["payment_intent"]
    world["refund"] = _ok(
        api.post(
            "/v1/refunds", {"payment_intent": world["payment_intent"], "amount": 100}
        )
    )["id"]


@pytest.fixture
def worlds(db, frozen, queued, settings):
    settings.TALLY_PAYMENT_PROCESSORS = {"test": SIMULATED, "live": SIMULATED}
    """(live key, live world, test key, test world), built in that order."""
    live = _client(livemode=True)
    live_world = build_world(live, test_clock=False)
    _all_rows_in_mode(livemode=True)
    test = _client(livemode=False)
    test_world = build_world(test, test_clock=True)
    return live, live_world, test, test_world


def _all_rows_in_mode(*, livemode: bool) -> None:
    """Every row of every model with a mode is in ``livemode`` (side effects too)."""
    for model in apps.get_models():
        if model._meta.app_label in MODELS and modes.has_mode(model):
            if model._meta.model_name == "apikey":
                continue
            modes_found = set(
                model._base_manager.values_list("livemode", flat=True).distinct()
            )
            assert modes_found <= {livemode}, model._meta.label


# ---- routes from the URL conf ----------------------------------------------------

# Path parameter -> the kind of object whose id it takes (by the route's prefix
# where two routes share a parameter name).
PARAMETER_KINDS = {
    "customer_id": "customer",
    "test_clock_id": "test_clock",
    "event_id": "event",
    "endpoint_id": "webhook_endpoint",
    "product_id": "product",
    "price_id": "price",
    "meter_id": "meter",
    "grant_id": "grant",
    "transaction_id": "transaction",
    "subscription_id": "subscription",
    "invoice_id": "invoice",
    "line_id": "line",
    "alert_id": "alert",
    "feature_id": "feature",
    "attached_id": "product_feature",
    "entitlement_id": "entitlement",
    "limit_id": "usage_limit",
    "payment_method_id": "payment_method",
    "payment_intent_id": "payment_intent",
    "invoice_payment_id": "invoice_payment",
    "refund_id": "refund",
    "tax_rate_id": "tax_rate",
    "tax_id": "tax_id",
    "credit_note_id": "credit_note",
    "balance_transaction_id": "balance_transaction",
    "coupon_id": "coupon",
    "commitment_id": "commitment",
    "code_id": "promotion_code",
    ("v1/subscription_items", "item_id"): "subscription_item",
    ("v1/invoiceitems", "item_id"): "invoiceitem",
    ("v2/billing/metered_items", "item_id"): "metered_item",
    "rate_card_id": "rate_card",
    "version_id": "rate_card_version",
    "rate_id": "rate_card_rate",
    "migration_id": "rate_card_migration",
}
# What a list needs besides pagination, by route.
LIST_PARAMS = {
    "v1/subscription_items": lambda world: {"subscription": world["subscription"]},
    "v1/billing/credit_balance_transactions": lambda world: {
        "customer": world["customer"]
    },
    "v1/billing/credit_balance_summary": lambda world: {
        "customer": world["customer"],
        "filter": {
            "type": "applicability_scope",
            "applicability_scope": {"price_type": "metered"},
        },
    },
    "v1/invoices/upcoming": lambda world: {"customer": world["customer"]},
    "v1/customers/<str:customer_id>/payment_methods": lambda world: {},
    "v1/customers/<str:customer_id>/tax_ids": lambda world: {},
    "v1/credit_notes/preview": lambda world: {
        "invoice": world["invoice"],
        "amount": 100,
    },
    "v1/credit_notes/preview/lines": lambda world: {
        "invoice": world["invoice"],
        "amount": 100,
    },
    "v1/customers/<str:customer_id>/balance_transactions": lambda world: {},
    "v1/entitlements/active_entitlements": lambda world: {
        "customer": world["customer"]
    },
    "v1/entitlements/check": lambda world: {"customer": world["customer"]},
    "v2/billing/rate_cards/<str:rate_card_id>/versions": lambda world: {},
    "v2/billing/rate_cards/<str:rate_card_id>/rates": lambda world: {},
    "v2/billing/rate_card_migrations/<str:migration_id>/subscriptions": (
        lambda world: {}
    ),
    "v1/billing/meters/<str:meter_id>/event_summaries": lambda world: {
        "customer": world["customer"],
        "start_time": int(T0.timestamp()) - 3600,
        "end_time": int(T0.timestamp()) + 3600,
    },
}


# The /v1 routes, and the /v2 routes that read objects (the meter event ones only
# write, with a session token).
ROUTE_PREFIXES = ("v1/", "v2/billing/rate_card", "v2/billing/metered_items")


def _routes(resolver=None, prefix: str = ""):
    for pattern in (resolver or get_resolver()).url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern, route)
        elif isinstance(pattern, URLPattern) and route.startswith(ROUTE_PREFIXES):
            view = getattr(pattern.callback, "view_class", None)
            if view is not None and hasattr(view, "get"):
                yield route


def _kind(route: str, parameter: str) -> str:
    for key, kind in PARAMETER_KINDS.items():
        if isinstance(key, tuple) and route.startswith(key[0]) and key[1] == parameter:
            return kind
    kind = PARAMETER_KINDS.get(parameter)
    assert kind is not None, f"{route}: no object kind for <{parameter}>"
    return kind


def _path(route: str, world: dict[str, str]) -> str:
    return "/" + re.sub(
        r"<(?:\w+:)?(\w+)>",
        lambda match: world[_kind(route, match.group(1))],
        route,
    )


def _object_routes() -> list[str]:
    return sorted(route for route in _routes() if "<" in route)


def _collection_routes() -> list[str]:
    return sorted(route for route in _routes() if "<" not in route)


def test_the_url_conf_has_the_routes_this_file_checks():
    collections, objects = _collection_routes(), _object_routes()
    assert "v1/customers" in collections
    assert "v1/invoices/<str:invoice_id>/lines" in objects
    assert len(collections) >= 15
    assert len(objects) >= 15


def _ids(world: dict[str, str]) -> set[str]:
    return {value for kind, value in world.items() if kind != "meter_event"}


def _leaks(body: str, other: dict[str, str]) -> set[str]:
    return {object_id for object_id in _ids(other) if object_id in body}


def _livemodes(data) -> set[bool]:
    """Every ``livemode`` in an answer, nested objects included."""
    found: set[bool] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "livemode":
                found.add(value)
            else:
                found |= _livemodes(value)
    elif isinstance(data, list):
        for item in data:
            found |= _livemodes(item)
    return found


def _sides(worlds, livemode: bool):
    """(the key's client, its own world, the other mode's world)."""
    live, live_world, test, test_world = worlds
    if livemode:
        return live, live_world, test_world
    return test, test_world, live_world


@pytest.mark.parametrize("livemode", [True, False], ids=["live key", "test key"])
def test_every_list_shows_the_keys_mode_only(worlds, livemode):
    api, own, other = _sides(worlds, livemode)
    checked = 0
    for route in _collection_routes() + _object_routes():
        if "<" in route and route not in LIST_PARAMS and not route.endswith("/lines"):
            continue  # a retrieve: see the next test
        params = LIST_PARAMS.get(route, lambda world: {})(own)
        response = api.get(_path(route, own), params)
        if livemode and route.startswith("v1/test_helpers/"):
            assert response.status_code == 400, route
            assert "test mode" in response.json()["error"]["message"]
            continue
        body = _ok(response)
        assert not _leaks(response.content.decode(), other), route
        assert _livemodes(body) <= {livemode}, route
        if body.get("object") == "list":
            assert body["data"], f"{route}: nothing listed"
        checked += 1
    assert checked >= 15


@pytest.mark.parametrize("livemode", [True, False], ids=["live key", "test key"])
def test_another_modes_objects_are_missing(worlds, livemode):
    api, own, other = _sides(worlds, livemode)
    for route in _object_routes():
        if "test_clock" in route:
            continue  # test mode only: test_test_clocks_are_test_mode_only
        params = LIST_PARAMS.get(route, lambda world: {})(own)
        assert api.get(_path(route, own), params).status_code == 200, route
        # The other mode's ids in the path: each is missing, as if it did not exist.
        mixed = {**own, **{kind: other[kind] for kind in other if kind in own}}
        response = api.get(_path(route, mixed), params)
        assert response.status_code == 404, (route, response.content)
        error = response.json()["error"]
        assert error["code"] == "resource_missing", route
        assert error["message"].startswith("No such"), route


def _other_mode_references(own: dict, other: dict) -> list[tuple[str, dict]]:
    """Creations that name another mode's object: each must be refused."""
    return [
        (
            "/v1/subscriptions",
            {"customer": other["customer"], "items": [{"price": own["price"]}]},
        ),
        (
            "/v1/subscriptions",
            {"customer": own["customer"], "rate_card": other["rate_card"]},
        ),
        (
            "/v1/subscriptions",
            {"customer": own["customer"], "items": [{"price": other["price"]}]},
        ),
        (
            "/v1/invoiceitems",
            {"customer": own["customer"], "price": other["price"]},
        ),
        (
            "/v1/prices",
            {
                "product": other["product"],
                "currency": "usd",
                "unit_amount": 100,
            },
        ),
        (
            "/v1/prices",
            {
                "product": own["product"],
                "currency": "usd",
                "unit_amount": 1,
                "recurring": {
                    "interval": "month",
                    "usage_type": "metered",
                    "meter": other["meter"],
                },
            },
        ),
        (
            "/v1/billing/credit_grants",
            {
                "customer": other["customer"],
                "amount": {
                    "type": "monetary",
                    "monetary": {"currency": "usd", "value": 1},
                },
                "applicability_config": {"scope": {"price_type": "metered"}},
            },
        ),
        (
            "/v1/billing/alerts",
            {
                "alert_type": "usage_threshold",
                "title": "x",
                "usage_threshold": {
                    "gte": 1,
                    "meter": other["meter"],
                    "recurrence": "one_time",
                },
            },
        ),
        ("/v1/billing_portal/sessions", {"customer": other["customer"]}),
        (
            f"/v1/payment_methods/{other['payment_method']}/attach",
            {"customer": own["customer"]},
        ),
        (
            f"/v1/payment_methods/{own['payment_method']}/attach",
            {"customer": other["customer"]},
        ),
        (f"/v1/payment_methods/{other['payment_method']}/detach", {}),
        ("/v1/refunds", {"payment_intent": other["payment_intent"]}),
        (
            f"/v1/invoices/{own['invoice']}/pay",
            {"payment_method": other["payment_method"]},
        ),
        (
            "/v1/invoices",
            {"customer": own["customer"], "default_tax_rates": [other["tax_rate"]]},
        ),
        (f"/v1/tax_rates/{other['tax_rate']}", {"display_name": "x"}),
        (
            f"/v1/customers/{other['customer']}/tax_ids",
            {"type": "eu_vat", "value": "DE136695976"},
        ),
        ("/v1/invoices", {"customer": other["customer"]}),
        ("/v1/invoices/create_preview", {"customer": other["customer"]}),
        (f"/v1/customers/{other['customer']}", {"name": "x"}),
        (f"/v1/coupons/{other['coupon']}", {"name": "x"}),
        ("/v1/promotion_codes", {"coupon": other["coupon"]}),
        (
            "/v1/subscriptions",
            {
                "customer": own["customer"],
                "items": [{"price": own["price"]}],
                "discounts": [{"coupon": other["coupon"]}],
            },
        ),
        (
            "/v1/subscriptions",
            {
                "customer": own["customer"],
                "items": [{"price": own["price"]}],
                "discounts": [{"promotion_code": other["promotion_code"]}],
            },
        ),
        (f"/v1/invoices/{other['invoice']}/void", {}),
        (f"/v1/billing/credit_grants/{other['grant']}/expire", {}),
        (f"/v1/billing/alerts/{other['alert']}/deactivate", {}),
        (f"/v1/billing/meters/{other['meter']}/deactivate", {}),
        (f"/v1/webhook_endpoints/{other['webhook_endpoint']}", {"disabled": True}),
        (
            "/v1/billing/meter_event_adjustments",
            {
                "event_name": "tokens",
                "type": "cancel",
                "cancel": {"identifier": other["meter_event"]},
            },
        ),
        (
            "/v1/billing/meter_events",
            {
                "event_name": "tokens",
                "payload": {"stripe_customer_id": other["customer"], "value": "1"},
            },
        ),
    ]


def _never_existing(world: dict[str, str], *parts):
    """``parts`` with each of ``world``'s ids replaced by one that never existed."""
    text = json.dumps(parts)
    for object_id in sorted(world.values(), key=len, reverse=True):
        text = text.replace(object_id, object_id[:-6] + "000000")
    return json.loads(text)


@pytest.mark.parametrize("livemode", [True, False], ids=["live key", "test key"])
def test_another_modes_ids_as_parameters_are_missing(worlds, livemode):
    api, own, other = _sides(worlds, livemode)
    before = Invoice.objects.count()
    for path, params in _other_mode_references(own, other):
        response = api.post(path, params)
        assert response.status_code in (400, 404), (path, params, response.content)
        # Exactly the answer an id that never existed gets.
        missing_path, missing_params = _never_existing(other, path, params)
        never = api.post(missing_path, missing_params)
        assert never.status_code == response.status_code, path
        assert _never_existing(other, response.json())[0] == never.json(), path
    assert Invoice.objects.count() == before
    # expand[] of a field that names another mode's object shows nothing of it.
    grant = _ok(
        api.get(f"/v1/billing/credit_grants/{own['grant']}", {"expand": ["customer"]})
    )
    assert grant["customer"]["id"] == own["customer"]


def test_objects_made_with_a_live_key_are_live_side_effects_included(worlds):
    live, live_world, _, _ = worlds
    invoice = Invoice.objects.get(pk=live_world["invoice"])
    assert invoice.livemode is True
    assert {line.livemode for line in invoice.lines.all()} == {True}
    assert set(
        Event.objects.filter(object_id=live_world["invoice"]).values_list(
            "livemode", flat=True
        )
    ) == {True}
    body = _ok(live.get(f"/v1/invoices/{live_world['invoice']}"))
    assert body["livemode"] is True
    assert body["lines"]["data"][0]["livemode"] is True


def test_a_period_close_job_bills_a_live_subscription_in_live_mode(worlds):
    from billing.services.period_close import subscriptions_close_due

    _, live_world, _, test_world = worlds
    later = datetime(2026, 6, 2, tzinfo=UTC)
    with time_machine.travel(later, tick=False):
        assert subscriptions_close_due(now=later) >= 2
    for world, livemode in ((live_world, True), (test_world, False)):
        invoices = Invoice.objects.filter(subscription_id=world["subscription"])
        assert invoices.count() == 2
        assert {invoice.livemode for invoice in invoices} == {livemode}
        for invoice in invoices:
            assert {line.livemode for line in invoice.lines.all()} == {livemode}


def test_events_and_webhooks_stay_in_their_mode(worlds):
    live, live_world, test, test_world = worlds
    for api in (live, test):  # with both endpoints listening
        _ok(api.post("/v1/customers", {"name": "Later"}))
    for api, world, livemode in ((live, live_world, True), (test, test_world, False)):
        events = _ok(api.get("/v1/events", {"limit": 100}))["data"]
        assert events
        assert {event["livemode"] for event in events} == {livemode}
        deliveries = WebhookDelivery.objects.filter(
            endpoint_id=world["webhook_endpoint"]
        )
        assert deliveries.exists()
        assert set(deliveries.values_list("event__livemode", flat=True)) == {livemode}
        endpoint = _ok(api.get(f"/v1/webhook_endpoints/{world['webhook_endpoint']}"))
        assert endpoint["livemode"] is livemode


def test_idempotency_keys_belong_to_their_key(worlds):
    live, _, test, _ = worlds
    headers = {"Idempotency-Key": "same-key-both-modes"}
    first = _ok(live.post("/v1/customers", {"name": "A"}, headers=headers))
    second = _ok(test.post("/v1/customers", {"name": "A"}, headers=headers))
    assert first["id"] != second["id"]
    assert (first["livemode"], second["livemode"]) == (True, False)
    replay = live.post("/v1/customers", {"name": "A"}, headers=headers)
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first["id"]


def test_test_clocks_are_test_mode_only(worlds):
    live, live_world, test, test_world = worlds
    for method, path in (
        ("get", "/v1/test_helpers/test_clocks"),
        ("post", "/v1/test_helpers/test_clocks"),
        ("get", f"/v1/test_helpers/test_clocks/{test_world['test_clock']}"),
        ("post", f"/v1/test_helpers/test_clocks/{test_world['test_clock']}/advance"),
    ):
        response = getattr(live, method)(path)
        assert response.status_code == 400, path
        assert response.json()["error"]["type"] == "invalid_request_error"
    # A live customer cannot be attached to a clock: the clock is not there.
    response = live.post(
        "/v1/customers", {"name": "x", "test_clock": test_world["test_clock"]}
    )
    assert response.status_code == 404
    assert response.json()["error"]["param"] == "test_clock"


def test_meter_events_match_their_modes_meter(worlds):
    live, live_world, test, test_world = worlds
    # Both modes have an active "tokens" meter; each key's events go to its own.
    for api, world in ((live, live_world), (test, test_world)):
        body = _ok(
            api.post(
                "/v1/billing/meter_events",
                {
                    "event_name": "tokens",
                    "payload": {"stripe_customer_id": world["customer"], "value": "7"},
                },
            )
        )
        assert body["livemode"] is (world is live_world)
    from metering.models import MeterEvent

    for world, livemode in ((live_world, True), (test_world, False)):
        events = MeterEvent.objects.filter(customer_id=world["customer"])
        assert {event.meter_id for event in events} == {world["meter"]}
        assert {event.livemode for event in events} == {livemode}


def test_v2_sessions_and_the_stream_keep_the_keys_mode(worlds):
    live, live_world, test, test_world = worlds
    for api, world, livemode in ((live, live_world, True), (test, test_world, False)):
        session = _ok(api.post_json("/v2/billing/meter_event_session", {}))
        assert session["livemode"] is livemode
        stream = ApiClient(Client(), session["authentication_token"])
        other = test_world if livemode else live_world
        refused = stream.post_json(
            "/v2/billing/meter_event_stream",
            {
                "events": [
                    {
                        "event_name": "tokens",
                        "payload": {
                            "stripe_customer_id": other["customer"],
                            "value": "1",
                        },
                    }
                ]
            },
        )
        assert refused.status_code == 400, refused.content
        accepted = stream.post_json(
            "/v2/billing/meter_event_stream",
            {
                "events": [
                    {
                        "event_name": "tokens",
                        "identifier": f"v2-{livemode}",
                        "payload": {
                            "stripe_customer_id": world["customer"],
                            "value": "1",
                        },
                    }
                ]
            },
        )
        assert accepted.status_code == 200, accepted.content
        from metering.models import MeterEvent

        event = MeterEvent.objects.get(identifier=f"v2-{livemode}")
        assert (event.livemode, event.meter_id) == (livemode, world["meter"])


def test_the_stripe_sdk_with_a_live_key(live_server, transactional_db):
    import stripe

    _, live_secret = api_key_create(name="sdk live", livemode=True)
    _, test_secret = api_key_create(name="sdk test")
    base = {"api": live_server.url, "meter_events": live_server.url}
    live = stripe.StripeClient(live_secret, base_addresses=base, max_network_retries=0)
    test = stripe.StripeClient(test_secret, base_addresses=base, max_network_retries=0)
    test_customer = test.v1.customers.create(params={"name": "Test Jenny"})
    live_customer = live.v1.customers.create(params={"name": "Live Jenny"})
    assert (live_customer.livemode, test_customer.livemode) == (True, False)
    assert [c.id for c in live.v1.customers.list().auto_paging_iter()] == [
        live_customer.id
    ]
    with pytest.raises(stripe.InvalidRequestError) as missing:
        live.v1.customers.retrieve(test_customer.id)
    assert missing.value.http_status == 404
    assert missing.value.code == "resource_missing"
    assert f"No such customer: '{test_customer.id}'" in str(missing.value)
    with pytest.raises(stripe.InvalidRequestError):
        live.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_777_636_800})


def test_json_answers_never_mix_modes_in_nested_objects(worlds):
    live, live_world, _, test_world = worlds
    body = _ok(
        live.get(
            f"/v1/invoices/{live_world['invoice']}",
            {"expand": ["customer"]},
        )
    )
    assert _livemodes(body) == {True}
    assert not _leaks(json.dumps(body), test_world)


def test_the_bulk_import_records_one_modes_events(worlds, tmp_path):
    import io

    from django.core.management import call_command

    from metering.models import MeterEvent

    _, live_world, _, test_world = worlds
    path = tmp_path / "usage.ndjson"
    path.write_text(
        "\n".join(
            json.dumps(
                {
                    "event_name": "tokens",
                    "identifier": f"import-{world['customer']}",
                    "payload": {"stripe_customer_id": world["customer"], "value": "3"},
                }
            )
            for world in (live_world, test_world)
        )
        + "\n"
    )
    out = io.StringIO()
    call_command(
        "import_meter_events", str(path), "--live", "--no-progress", stdout=out
    )
    assert "Accepted 1, already imported 0, rejected 1." in out.getvalue()
    event = MeterEvent.objects.get(identifier=f"import-{live_world['customer']}")
    assert (event.livemode, event.meter_id) == (True, live_world["meter"])


def test_customer_pages_reach_their_customers_mode_only(worlds, client):
    from core import clock
    from core.models import Customer
    from core.services.portal import portal_session_create

    _, live_world, _, test_world = worlds
    customer = Customer.objects.get(pk=live_world["customer"])
    url = portal_session_create(customer=customer, now=clock.now()).url
    overview = client.get(url)
    assert overview.status_code == 200
    assert not _leaks(overview.content.decode(), test_world)
    assert client.get(f"{url}usage/{live_world['meter']}/").status_code == 200
    assert client.get(f"{url}usage/{test_world['meter']}/").status_code == 404
    assert client.get(f"{url}invoices/{live_world['invoice']}/").status_code == 200
    assert client.get(f"{url}invoices/{test_world['invoice']}/").status_code == 404


def test_the_same_meter_event_in_both_modes_is_recorded_once_in_each(worlds):
    from metering.models import MeterEvent

    live, live_world, test, test_world = worlds

    def send(api, world):
        return api.post(
            "/v1/billing/meter_events",
            {
                "event_name": "tokens",
                "identifier": "mirrored-1",
                "payload": {"stripe_customer_id": world["customer"], "value": "2"},
            },
        )

    assert send(live, live_world).status_code == 200
    assert send(test, test_world).status_code == 200
    again = send(live, live_world)
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "duplicate_meter_event"
    stored = MeterEvent.objects.filter(identifier="mirrored-1")
    assert sorted(stored.values_list("livemode", flat=True)) == [False, True]
