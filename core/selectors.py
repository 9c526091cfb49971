"""Reads of the core app that other layers share (webhook delivery state)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from core.models import Customer, Event, WebhookDelivery, WebhookEndpoint
from core.webhooks import policy

# Deliveries that did not (yet) reach their endpoint.
_UNDELIVERED = (
    WebhookDelivery.Status.PENDING,
    WebhookDelivery.Status.FAILED,
    WebhookDelivery.Status.CANCELED,
)


def event_pending_webhooks(*, event_id: str) -> int:
    """How many endpoints still wait for this event (Stripe's ``pending_webhooks``)."""
    return WebhookDelivery.objects.filter(
        event_id=event_id, status=WebhookDelivery.Status.PENDING
    ).count()


def events_filter_delivery_success(queryset: QuerySet, *, success: bool) -> QuerySet:
    """Keep events all of whose deliveries succeeded (``success``), or the others.

    Stripe's ``delivery_success`` filter: false lists events still pending or given
    up on for some endpoint.
    """
    undelivered = Exists(
        WebhookDelivery.objects.filter(event_id=OuterRef("pk"), status__in=_UNDELIVERED)
    )
    return queryset.exclude(undelivered) if success else queryset.filter(undelivered)


def webhook_deliveries_settled(*, event_ids: Iterable[str], now: datetime) -> bool:
    """Whether webhooks for these events are done (billing's ``webhooks_delivered_at``).

    Done means each event reached every endpoint listening to it, or gave up on it
    (retries exhausted, endpoint disabled). An event no endpoint listens to is done
    at once. A recent event that an endpoint should get but has no delivery for yet
    (its after-commit fan-out has not run) is not done.
    """
    event_ids = list(event_ids)
    if not event_ids:
        return True
    pending = WebhookDelivery.objects.filter(
        event_id__in=event_ids, status=WebhookDelivery.Status.PENDING
    )
    if pending.exists():
        return False
    endpoints = list(
        WebhookEndpoint.objects.filter(status=WebhookEndpoint.Status.ENABLED).only(
            "id", "enabled_events", "enabled_at"
        )
    )
    # Older events (and test-clock events dated in the future) are not fanned out
    # again by the reconcile job, so a missing delivery there is final.
    recent = Event.objects.filter(
        pk__in=event_ids,
        created__gte=now - settings.TALLY_WEBHOOK_RETRY_FOR,
        created__lte=now,
    ).only("id", "type", "created")
    if not endpoints or not recent.exists():
        return True
    delivered = set(
        WebhookDelivery.objects.filter(event_id__in=event_ids).values_list(
            "endpoint_id", "event_id"
        )
    )
    return not any(
        endpoint.enabled_at <= event.created
        and policy.endpoint_wants(endpoint.enabled_events, event.type)
        and (endpoint.id, event.id) not in delivered
        for event in recent
        for endpoint in endpoints
    )


def customer_ids_matching(*, term: str, limit: int) -> list[str]:
    """Ids of up to ``limit`` customers whose id or email is ``term``, or whose
    name or email contains it (case-insensitive), in the active mode."""
    term = term.strip()
    if not term:
        return []
    found = Customer.objects.filter(
        Q(id=term) | Q(email=term) | Q(name__icontains=term) | Q(email__icontains=term)
    )
    return list(found.order_by().values_list("id", flat=True)[:limit])
