"""Webhook endpoints: create, update, delete, roll the secret; resend and test sends.

Delivery itself (fan-out, attempts, retries) is the engine in ``core.webhooks``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from core import resources
from core.errors import InvalidRequest, InvalidState
from core.ids import new_secret
from core.metadata import metadata_merge
from core.models import WebhookDelivery, WebhookEndpoint
from core.modes import default_livemode
from core.services.events import event_record
from core.webhooks import dispatch, policy

# How long a rolled secret may keep signing, at most (Stripe allows 24 hours).
MAX_SECRET_OVERLAP = timedelta(hours=24)


def _new_secret() -> str:
    return new_secret("whsec")


def _apply(endpoint: WebhookEndpoint, params: dict[str, Any]) -> None:
    if "url" in params:
        endpoint.url = policy.validate_url(params["url"])
    if "enabled_events" in params:
        endpoint.enabled_events = policy.validate_enabled_events(
            params["enabled_events"]
        )
    if "description" in params:
        endpoint.description = params["description"] or None
    if "metadata" in params:
        endpoint.metadata = metadata_merge(endpoint.metadata, params["metadata"])


@transaction.atomic
def webhook_endpoint_create(
    *, params: dict[str, Any], livemode: bool | None = None, now: datetime
) -> WebhookEndpoint:
    """Create an enabled endpoint with a fresh ``whsec_`` secret; it receives the
    events of its mode only (``livemode``, by default the active mode)."""
    if "url" not in params or "enabled_events" not in params:
        missing = "url" if "url" not in params else "enabled_events"
        raise InvalidRequest(
            f"Missing required param: {missing}.",
            param=missing,
            code="parameter_missing",
        )
    limit = settings.TALLY_WEBHOOK_MAX_ENDPOINTS
    if WebhookEndpoint.objects.count() >= limit:
        raise InvalidRequest(
            f"You have reached the maximum of {limit} webhook endpoints.",
            param="url",
            code="resource_limit_exceeded",
        )
    endpoint = WebhookEndpoint(
        secret=_new_secret(),
        api_version=params.get("api_version"),
        livemode=default_livemode() if livemode is None else livemode,
        created=now,
        enabled_at=now,
    )
    _apply(endpoint, params)
    endpoint.save()
    return endpoint


@transaction.atomic
def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, params: dict[str, Any], now: datetime
) -> WebhookEndpoint:
    """Change the URL, events, description or metadata; ``disabled`` toggles it."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    _apply(endpoint, params)
    endpoint.save()
    disabled = params.get("disabled")
    if disabled is True and endpoint.is_enabled:
        dispatch.endpoint_disable(
            endpoint=endpoint, reason=WebhookEndpoint.DisabledReason.MANUAL, now=now
        )
    elif disabled is False and not endpoint.is_enabled:
        endpoint.status = WebhookEndpoint.Status.ENABLED
        endpoint.disabled_reason = ""
        endpoint.enabled_at = now
        endpoint.failing_since = None
        endpoint.save(
            update_fields=["status", "disabled_reason", "enabled_at", "failing_since"]
        )
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint with its delivery log; nothing more is sent to it."""
    # The endpoint row first, then its deliveries (the engine's lock order).
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.delete()


@transaction.atomic
def webhook_endpoint_roll_secret(
    *, endpoint: WebhookEndpoint, keep_previous_for: timedelta, now: datetime
) -> WebhookEndpoint:
    """Replace the secret; the old one also signs for ``keep_previous_for``."""
    if not timedelta(0) <= keep_previous_for <= MAX_SECRET_OVERLAP:
        raise InvalidRequest(
            "The old secret may keep signing for 0 to 24 hours.",
            param="expires_in",
        )
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if keep_previous_for:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + keep_previous_for
    else:
        endpoint.previous_secret = ""
        endpoint.previous_secret_expires_at = None
    endpoint.secret = _new_secret()
    endpoint.save(
        update_fields=["secret", "previous_secret", "previous_secret_expires_at"]
    )
    return endpoint


@transaction.atomic
def webhook_endpoint_send_test(
    *, endpoint: WebhookEndpoint, now: datetime
) -> WebhookDelivery:
    """Record a ``ping`` event and deliver it to this endpoint only."""
    endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    if not endpoint.is_enabled:
        raise InvalidState("Enable the endpoint before sending it a test event.")
    event = event_record(
        type=policy.TEST_EVENT_TYPE,
        data_object=resources.serialize(endpoint),
        created=now,
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, created=now, next_attempt_at=now
    )
    transaction.on_commit(
        lambda: dispatch.dispatch_first_attempts(endpoint_id=endpoint.pk, now=now)
    )
    return delivery


@transaction.atomic
def webhook_delivery_resend(
    *, delivery: WebhookDelivery, now: datetime
) -> WebhookDelivery:
    """Send a delivery again now, whatever became of it before."""
    delivery = (
        WebhookDelivery.objects.select_related("endpoint")
        .select_for_update(of=("self",))
        .get(pk=delivery.pk)
    )
    if not delivery.endpoint.is_enabled:
        raise InvalidState("Enable the endpoint before resending to it.")
    if delivery.sending_since is not None and (delivery.leased_until or now) > now:
        raise InvalidState("This delivery is being sent right now.")
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.next_attempt_at = now
    delivery.completed_at = None
    delivery.lease_token, delivery.leased_until = "", None
    delivery.save(
        update_fields=[
            "status",
            "next_attempt_at",
            "completed_at",
            "lease_token",
            "leased_until",
        ]
    )
    dispatch.claim([delivery.pk], now=now)
    return delivery
