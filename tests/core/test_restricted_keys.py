"""Restricted API keys (``rk_``): a level per resource, honoured on every route.

The routes are read from the URL conf (``core.api.access.api_routes``) with each
method their view answers, so a new route is walked here without editing this file.
Path ids name no object: a permitted request answers 404 or 400, a refused one 403
before any view runs.
"""

from __future__ import annotations

import hashlib
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from core.api import access
from core.api.middleware import KEYLESS_PATHS
from core.models import ApiKey, Customer, IdempotencyKey
from core.services.api_keys import api_key_create
from tests.helpers import ApiClient, error_of

_METHODS = ("get", "post", "delete")


def _calls() -> list[tuple[str, str, str]]:
    """(route, method, path) for every API route and method its view answers."""
    calls = []
    for route, pattern in access.api_routes():
        path = "/" + re.sub(r"<[^>]+>", "zz_missing", route)
        if path.startswith(KEYLESS_PATHS):
            continue  # a session token, not a key (tests/metering/test_v2_*.py)
        view = pattern.callback.view_class
        calls.extend((route, m, path) for m in _METHODS if hasattr(view, m))
    return calls


CALLS = _calls()


def _restricted(preset_or_permissions) -> ApiClient:
    permissions = (
        access.PRESETS[preset_or_permissions]
        if isinstance(preset_or_permissions, str)
        else preset_or_permissions
    )
    _, secret = api_key_create(name="restricted", permissions=permissions)
    assert secret.startswith("rk_test_")
    return ApiClient(Client(), secret)


def _send(api: ApiClient, method: str, path: str):
    return getattr(api, method)(path, {})


def _assert_refused(response, permission: str) -> None:
    assert response.status_code == 403, response.content
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    assert error["code"] is None
    assert f"'{permission}'" in error["message"]
    assert "does not have the required permissions" in error["message"]


def test_every_route_is_walked():
    routes = {route for route, _, _ in CALLS}
    assert "v1/customers" in routes
    assert "v2/billing/meter_events" in routes
    assert len(CALLS) > 60


@pytest.mark.parametrize(("route", "method", "path"), CALLS)
def test_a_read_only_key_reads_and_never_writes(db, route, method, path):
    response = _send(_restricted("read"), method, path)
    assert response.status_code < 500, response.content
    if method == "get" or route in access.READ_POSTS:
        assert response.status_code != 403, response.content
    else:
        resource = access.route_resource(route).replace(".", "_")
        _assert_refused(response, f"rak_{resource}_write")


@pytest.mark.parametrize(("route", "method", "path"), CALLS)
def test_an_ingest_only_key_sends_meter_events_only(db, route, method, path):
    response = _send(_restricted("ingest"), method, path)
    assert response.status_code < 500, response.content
    resource = access.route_resource(route)
    if resource == "billing.meter_events":
        assert response.status_code != 403, response.content
    else:
        level = access.route_level(route, method.upper())
        _assert_refused(response, f"rak_{resource.replace('.', '_')}_{level}")


def test_levels_per_resource(db):
    api = _restricted({"customers": "write", "products": "read"})
    assert api.post("/v1/customers", {"name": "Jenny"}).status_code == 200
    assert api.get("/v1/products").status_code == 200
    _assert_refused(api.post("/v1/products", {"name": "P"}), "rak_products_write")
    _assert_refused(api.get("/v1/invoices"), "rak_invoices_read")


def test_a_secret_key_keeps_full_access(api):
    assert api.post("/v1/products", {"name": "P"}).status_code == 200


def test_an_unknown_route_is_still_a_404(db):
    response = _restricted("ingest").post("/v1/nothing_here", {})
    assert response.status_code == 404


def test_a_refused_write_leaves_nothing_behind(db):
    api = _restricted("read")
    response = api.post(
        "/v1/customers", {"name": "Jenny"}, headers={"Idempotency-Key": "k-1"}
    )
    assert response.status_code == 403
    assert not Customer.objects.exists()
    assert not IdempotencyKey.objects.exists()


def test_restricted_keys_are_stored_hashed(db):
    api_key, secret = api_key_create(permissions=access.PRESETS["ingest"])
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert stored.redacted == f"{secret[:8]}...{secret[-4:]}"
    assert secret not in repr(ApiKey.objects.values().get(pk=api_key.pk))
    assert stored.is_restricted
    assert stored.permissions == access.PRESETS["ingest"]


def test_a_live_restricted_key_is_rk_live(db):
    _, secret = api_key_create(livemode=True, permissions=access.PRESETS["read"])
    assert secret.startswith("rk_live_")


def test_unknown_permissions_are_refused(db):
    with pytest.raises(ValueError, match="Unknown permission"):
        api_key_create(permissions={"charges": "write"})
    with pytest.raises(ValueError, match="Unknown permission"):
        api_key_create(permissions={"customers": "admin"})


@pytest.mark.parametrize("preset", sorted(access.PRESETS))
def test_the_command_creates_a_restricted_key(db, preset):
    out = StringIO()
    call_command(
        "create_api_key", "--restricted", preset, stdout=out, stderr=StringIO()
    )
    secret = out.getvalue().strip().splitlines()[-1]
    assert secret.startswith("rk_test_")
    stored = ApiKey.objects.get(secret_hash=hashlib.sha256(secret.encode()).hexdigest())
    assert stored.permissions == access.PRESETS[preset]


def test_the_sdk_raises_permission_error(stripe_sdk, transactional_db):
    import stripe

    _, secret = api_key_create(permissions=access.PRESETS["read"])
    assert stripe.Customer.list(api_key=secret).data == []
    with pytest.raises(stripe.PermissionError) as raised:
        stripe.Customer.create(name="Jenny", api_key=secret)
    assert raised.value.http_status == 403
    assert "rak_customers_write" in raised.value.user_message


# ---- the dashboard --------------------------------------------------------------


@pytest.fixture
def staff(client, django_user_model):
    django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
    client.login(username="boss", password="pw")
    return client


def _created_secret(response) -> str:
    found = re.search(r"<code>((?:rk|sk)_\w+)</code>", response.content.decode())
    assert found, response.content.decode()[:2000]
    return found.group(1)


@pytest.mark.parametrize(
    ("choice", "permissions"),
    [("read", {"*": "read"}), ("ingest", {"billing.meter_events": "write"})],
)
def test_staff_create_a_preset_key(staff, choice, permissions):
    page = staff.get("/admin/core/apikey/add/")
    assert page.status_code == 200
    assert b"ingest-only" in page.content
    response = staff.post(
        "/admin/core/apikey/add/",
        {"name": "ingest box", "access": choice},
        follow=True,
    )
    secret = _created_secret(response)
    assert secret.startswith("rk_test_")
    stored = ApiKey.objects.get()
    assert stored.permissions == permissions
    listing = staff.get("/admin/core/apikey/")
    assert access.PRESET_LABELS[choice].encode() in listing.content


def test_staff_create_a_custom_key_and_revoke_it(staff):
    response = staff.post(
        "/admin/core/apikey/add/",
        {
            "name": "reports",
            "access": "custom",
            "perm_invoices": "read",
            "perm_billing__meter_events": "write",
        },
        follow=True,
    )
    secret = _created_secret(response)
    stored = ApiKey.objects.get()
    assert stored.permissions == {
        "billing.meter_events": "write",
        "invoices": "read",
    }
    api = ApiClient(Client(), secret)
    assert api.get("/v1/invoices").status_code == 200
    assert api.get("/v1/customers").status_code == 403
    staff.post(
        "/admin/core/apikey/",
        {"action": "revoke", "_selected_action": [stored.pk]},
    )
    assert api.get("/v1/invoices").status_code == 401


def test_staff_create_a_secret_key(staff):
    response = staff.post(
        "/admin/core/apikey/add/", {"name": "server", "access": "full"}, follow=True
    )
    assert _created_secret(response).startswith("sk_test_")
    assert ApiKey.objects.get().permissions is None
