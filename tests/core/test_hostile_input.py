"""Hostile input under /v1 and /v2 is refused in Stripe's envelope, never a 500:
NUL bytes in path ids, oversized bodies, deep nesting, odd encodings."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

METHODS = ("GET", "POST", "DELETE")


def _api_routes(patterns=None, prefix: str = "") -> list[str]:
    """Every route under /v1 and /v2, as written in the URL map."""
    routes = []
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes.extend(_api_routes(pattern.url_patterns, text))
        elif isinstance(pattern, URLPattern) and re.match(r"v[12]/", text):
            routes.append(text)
    return routes


def _envelope(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body["error"]) >= {"type", "message"}, body
    return body["error"]


def _call(api, method: str, path: str, body: bytes = b"", content_type: str = ""):
    return api.client.generic(
        method,
        path,
        body,
        content_type=content_type or "application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Bearer {api.secret}",
    )


def test_a_nul_byte_in_any_path_id_is_a_404(api):
    routes = [route for route in _api_routes() if "<" in route]
    assert len(routes) > 25
    for route in routes:
        path = "/" + re.sub(r"<(?:\w+:)?\w+>", "obj%00x", route)
        for method in METHODS:
            error = _envelope(_call(api, method, path), 404)
            assert error["code"] == "resource_missing", (method, path)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/v1/customers", "application/json"),
        ("/v1/customers", "application/x-www-form-urlencoded"),
        ("/v1/billing/meter_events", "application/json"),
        ("/v1/billing/meter_events", "application/x-www-form-urlencoded"),
        ("/v2/billing/meter_events", "application/json"),
    ],
)
def test_a_body_over_the_size_limit_is_a_413(api, path, content_type):
    size = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
    if content_type == "application/json":
        body = json.dumps({"name": "x" * size}).encode()
    else:
        body = b"name=" + b"x" * size
    error = _envelope(_call(api, "POST", path, body, content_type), 413)
    assert error["code"] == "request_too_large"
    # With an Idempotency-Key, the body is read before any view runs.
    response = api.client.generic(
        "POST",
        path,
        body,
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {api.secret}",
        HTTP_IDEMPOTENCY_KEY="big-1",
    )
    _envelope(response, 413)


class _CountingInput:
    """A request body stream of ``size`` bytes that counts what is read from it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.read_bytes = 0

    def read(self, count: int = -1) -> bytes:
        left = self.size - self.read_bytes
        count = left if count is None or count < 0 else min(count, left)
        self.read_bytes += count
        return b"a" * count

    def readline(self, count: int = -1) -> bytes:
        return self.read(count)


@pytest.mark.parametrize(
    "path", ["/v1/customers", "/v1/billing/meter_events", "/v2/billing/meter_events"]
)
@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "application/json"]
)
def test_a_50_mb_body_is_refused_before_it_is_read(api, path, content_type):
    stream = _CountingInput(50 * 1024 * 1024)
    response = api.client.generic(
        "POST",
        path,
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {api.secret}",
        **{
            "wsgi.input": stream,
            "CONTENT_LENGTH": str(stream.size),
            "CONTENT_TYPE": content_type,
        },
    )
    _envelope(response, 413)
    assert stream.read_bytes <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE


@pytest.mark.parametrize("depth", [30, 900, 5000])
def test_deeply_nested_form_parameters_are_a_400(api, depth):
    key = "metadata" + "[a]" * depth
    error = _envelope(api.post("/v1/customers", {key: "v"}), 400)
    assert error["type"] == "invalid_request_error"
    error = _envelope(api.get("/v1/customers", {key: "v"}), 400)
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "path", ["/v1/customers", "/v1/billing/meter_events", "/v2/billing/meter_events"]
)
@pytest.mark.parametrize("depth", [30, 1000, 100_000])
def test_deeply_nested_json_is_a_400(api, path, depth):
    body = '{"metadata": ' + "[" * depth + "]" * depth + "}"
    response = _call(api, "POST", path, body.encode(), "application/json")
    _envelope(response, 400)


def test_nested_parameters_as_deep_as_stripe_uses_still_work(api):
    response = api.post(
        "/v1/customers", {"invoice_settings": {"custom_fields": [{"name": "a"}]}}
    )
    assert response.status_code in (200, 400)
    assert "nest" not in response.json().get("error", {}).get("message", "")


def test_invalid_utf8_in_a_form_body_or_query_is_a_400(api):
    response = _call(api, "POST", "/v1/customers", b"name=%FF%FE")
    error = _envelope(response, 400)
    assert error["code"] == "invalid_body"
    response = api.client.get(
        "/v1/customers?email=%FF%FE", HTTP_AUTHORIZATION=f"Bearer {api.secret}"
    )
    _envelope(response, 400)


def test_metadata_must_be_an_object(api):
    response = api.post_json("/v1/customers", {"metadata": [1, 2]})
    error = _envelope(response, 400)
    assert error["param"] == "metadata"
    response = api.post_json("/v1/customers", {"metadata": "text"})
    _envelope(response, 400)
    ok = api.post_json("/v1/customers", {"metadata": {"plan": "pro"}})
    assert ok.status_code == 200


@pytest.mark.parametrize("amount", [" 5", "5 ", "+5", "5\n", "٥"])
def test_integers_with_spaces_signs_or_other_digits_are_a_400(api, amount):
    product = api.post("/v1/products", {"name": "Seats"}).json()
    response = api.post(
        "/v1/prices",
        {"product": product["id"], "currency": "usd", "unit_amount": amount},
    )
    error = _envelope(response, 400)
    assert error["param"] == "unit_amount"


def test_a_client_without_credentials_still_gets_the_envelope_for_a_nul():
    response = Client().get("/v1/customers/cus%00")
    assert response.status_code in (401, 404)
    assert "error" in response.json()
