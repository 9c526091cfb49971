"""Live and test modes through every route: a key lists, retrieves and names only
its own mode's objects. The routes are read from the URL conf, so a new route is
covered (or fails here, naming the id it needs) without editing these checks.
"""

from __future__ import annotations

import json
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from billing.models import Invoice
from tests.core.modes_world import (
    T0,
    leaks,
    livemodes,
    ok,
    sides,
)

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


@pytest.mark.parametrize("livemode", [True, False], ids=["live key", "test key"])
def test_every_list_shows_the_keys_mode_only(worlds, livemode):
    api, own, other = sides(worlds, livemode)
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
        body = ok(response)
        assert not leaks(response.content.decode(), other), route
        assert livemodes(body) <= {livemode}, route
        if body.get("object") == "list":
            assert body["data"], f"{route}: nothing listed"
        checked += 1
    assert checked >= 15


@pytest.mark.parametrize("livemode", [True, False], ids=["live key", "test key"])
def test_another_modes_objects_are_missing(worlds, livemode):
    api, own, other = sides(worlds, livemode)
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
    api, own, other = sides(worlds, livemode)
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
    grant = ok(
        api.get(f"/v1/billing/credit_grants/{own['grant']}", {"expand": ["customer"]})
    )
    assert grant["customer"]["id"] == own["customer"]
