"""Every response under /v1 and /v2 is Stripe's envelope: unknown routes and methods,
requests without CSRF tokens, the database down, gunicorn's own refusals."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connections
from django.test import Client

from tests.core.test_hostile_input import _api_routes

pytestmark = pytest.mark.django_db

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "FOO")
UNKNOWN = (
    "/v1/nothing",
    "/v1/customers/cus_1/nothing",
    "/v1/",
    "/v1/billing/meters/mtr_1/nothing/else",
    "/v2/nothing",
    "/v2/billing/nothing",
)
ROOT = Path(__file__).resolve().parents[2]


def _error(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json")
    if response.request["REQUEST_METHOD"] == "HEAD":
        return {}
    error = response.json()["error"]
    assert error["type"]
    assert error["message"]
    return error


@pytest.fixture
def strict_client() -> Client:
    """A browser-like client: Django checks CSRF tokens, and errors are responses."""
    return Client(enforce_csrf_checks=True, raise_request_exception=False)


def test_every_method_on_an_unknown_route_is_a_404_envelope(strict_client, secret_key):
    for path in UNKNOWN:
        for method in METHODS:
            response = strict_client.generic(
                method,
                path,
                b"a=1",
                content_type="application/x-www-form-urlencoded",
                HTTP_AUTHORIZATION=f"Bearer {secret_key}",
            )
            error = _error(response, 404)
            if error:
                assert error["code"] == "resource_missing", (method, path)
            # Without a key, the key is what is missing.
            response = strict_client.generic(method, path)
            _error(response, 401)


def test_a_method_a_route_does_not_take_is_a_405_envelope(strict_client, secret_key):
    routes = [re.sub(r"<(?:\w+:)?\w+>", "obj_1", route) for route in _api_routes()]
    for route in routes:
        for method in ("PUT", "PATCH", "TRACE", "FOO"):
            response = strict_client.generic(
                method, "/" + route, HTTP_AUTHORIZATION=f"Bearer {secret_key}"
            )
            if route.startswith("v2/billing/meter_event_stream"):
                assert response.status_code in (401, 405), route
                continue
            error = _error(response, 405)
            assert error["code"] == "method_not_allowed", (method, route)


def test_the_api_needs_no_csrf_token_and_the_dashboard_keeps_it(
    strict_client, secret_key, django_user_model
):
    response = strict_client.post(
        "/v1/customers",
        "name=Ada",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Bearer {secret_key}",
        HTTP_COOKIE="csrftoken=forged",
    )
    assert response.status_code == 200
    django_user_model.objects.create_user(
        username="staff", password="a long enough password", is_staff=True
    )
    response = strict_client.post(
        "/admin/login/", {"username": "staff", "password": "a long enough password"}
    )
    assert response.status_code == 403
    assert b"CSRF" in response.content


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_the_database_unavailable_is_a_503_envelope_then_recovery(
    strict_client, live_secret_key
):
    connection = connections["default"]
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "postgresql":
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(_closed_port()))
    else:
        connection.settings_dict["NAME"] = "/nonexistent/tally/db.sqlite3"
    try:
        for path in ("/v1/customers", "/v1/nothing", "/v2/billing/meter_events"):
            response = strict_client.get(
                path, HTTP_AUTHORIZATION=f"Bearer {live_secret_key}"
            )
            error = _error(response, 503)
            assert error["type"] == "api_error"
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    response = strict_client.get(
        "/v1/customers", HTTP_AUTHORIZATION=f"Bearer {live_secret_key}"
    )
    assert response.status_code == 200


# ---- gunicorn's own refusals ----------------------------------------------------


def test_gunicorn_answers_the_requests_it_refuses_in_the_envelope():
    """Lines and headers past gunicorn's limits never reach Django."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-c",
            "config/gunicorn.conf.py",
            "--workers=1",
            "--threads=1",
            f"--bind=127.0.0.1:{port}",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port)
        # The master listens before its worker has loaded the app (seconds on a busy
        # machine): one answered request first, so the probes' timeouts are theirs.
        _raw(
            port,
            b"GET /v1/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            90,
        )
        cases = {
            b"GET /v1/" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n": 414,
            b"GET /v1/customers HTTP/1.1\r\nHost: x\r\nX: "
            + b"a" * 9000
            + b"\r\n\r\n": 431,
            b"G\x00T /v1/customers HTTP/1.1\r\nHost: x\r\n\r\n": 400,
        }
        for request, status in cases.items():
            head, _, body = _raw(port, request).partition(b"\r\n\r\n")
            assert head.split(b" ")[1] == str(status).encode(), head
            assert b"Content-Type: application/json" in head
            assert b'"error"' in body
            assert b"<html" not in body
    finally:
        server.kill()
        server.wait(timeout=10)


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not start")


def _raw(port: int, request: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as client:
        client.sendall(request)
        chunks = []
        while chunk := client.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)
