"""Test helpers: Stripe's form encoding and a small API client."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.test import TestCase


def form_pairs(params: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Encode nested params the way stripe-python does (indexed arrays)."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        pairs.extend(_encode_value(name, value))
    return pairs


def _encode_value(name: str, value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, dict):
        return form_pairs(value, name)
    if isinstance(value, list | tuple):
        pairs = []
        for index, item in enumerate(value):
            pairs.extend(_encode_value(f"{name}[{index}]", item))
        return pairs
    if isinstance(value, bool):
        return [(name, "true" if value else "false")]
    return [(name, str(value))]


class ApiClient:
    """Calls /v1 through Django's test client with a Bearer key.

    Tests run inside a transaction that never commits, so each request runs its
    ``on_commit`` callbacks (tasks, webhooks) when it returns, as a commit would.
    """

    def __init__(self, client, secret: str) -> None:
        self.client = client
        self.secret = secret

    def _call(self, method: str, *args, **kwargs):
        with TestCase.captureOnCommitCallbacks(execute=True):
            return getattr(self.client, method)(*args, **kwargs)

    def _headers(self, extra: dict | None) -> dict:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.secret}"}
        for key, value in (extra or {}).items():
            headers["HTTP_" + key.upper().replace("-", "_")] = value
        return headers

    def get(self, path: str, params: dict | None = None, headers: dict | None = None):
        query = urlencode(form_pairs(params or {}))
        return self._call(
            "get", f"{path}?{query}" if query else path, **self._headers(headers)
        )

    def post(self, path: str, params: dict | None = None, headers: dict | None = None):
        body = urlencode(form_pairs(params or {}))
        return self._call(
            "post",
            path,
            body,
            content_type="application/x-www-form-urlencoded",
            **self._headers(headers),
        )

    def post_json(self, path: str, body: Any, headers: dict | None = None):
        return self._call(
            "post",
            path,
            json.dumps(body),
            content_type="application/json",
            **self._headers(headers),
        )

    def delete(
        self, path: str, params: dict | None = None, headers: dict | None = None
    ):
        query = urlencode(form_pairs(params or {}))
        return self._call(
            "delete", f"{path}?{query}" if query else path, **self._headers(headers)
        )


def error_of(response) -> dict:
    """Return the ``error`` object of a Stripe-style error response."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"type", "code", "message", "param"} <= set(body["error"]), body
    return body["error"]


class DjangoBehindLane:
    """Django as the lean lane's fallback, counting the requests handed over."""

    def __init__(self) -> None:
        self.handed_over = 0

    def __call__(self, environ, start_response):
        from config.wsgi import django_application

        self.handed_over += 1
        return django_application(environ, start_response)
