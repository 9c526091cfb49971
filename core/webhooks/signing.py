"""What a delivery sends: the event's JSON body and Stripe's signature header."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime

from rest_framework.renderers import JSONRenderer

from core import resources
from core.models import Event, WebhookEndpoint

USER_AGENT = "Tally/1.0 (+webhooks)"
CONTENT_TYPE = "application/json; charset=utf-8"


def render_body(event: Event) -> bytes:
    """Return the event exactly as ``GET /v1/events/{id}`` renders it."""
    return JSONRenderer().render(resources.serialize(event))


def render_bodies(events: Sequence[Event]) -> list[bytes]:
    """``render_body`` of each event, with one serializer for them all (a batch)."""
    if not events:
        return []
    resource = resources.resource_for_instance(events[0])
    rows = resource.serializer(events, many=True, context={"expand": set()}).data
    renderer = JSONRenderer()
    return [renderer.render(dict(row)) for row in rows]


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"{timestamp}.{body}"`` keyed with the secret (``v1``)."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(*, secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """``t=<unix>,v1=<hex>[,v1=<hex>]``: one v1 per secret that is still valid."""
    parts = [f"t={timestamp}"]
    parts.extend(
        f"v1={signature(secret=secret, timestamp=timestamp, body=body)}"
        for secret in secrets
    )
    return ",".join(parts)


def signing_secrets(endpoint: WebhookEndpoint, *, now: datetime) -> list[str]:
    """The current secret, plus the rolled one until it expires."""
    secrets = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        secrets.append(endpoint.previous_secret)
    return secrets


def request_headers(*, signature_value: str) -> dict[str, str]:
    return {
        "Content-Type": CONTENT_TYPE,
        "User-Agent": USER_AGENT,
        "Stripe-Signature": signature_value,
        "Cache-Control": "no-cache",
    }
