"""The Beat jobs (due deliveries, fan-out reconciliation) and stopping deliveries
(an endpoint disabled, deliveries cancelled).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet

from core.models import Event, WebhookDelivery, WebhookEndpoint
from core.webhooks import policy
from core.webhooks.dispatch.fanout import (
    dispatch_first_attempts,
    event_fanout,
)
from core.webhooks.dispatch.lanes import (
    DUE_BATCH,
    ENABLED,
    PENDING,
    _lease_free,
    claim,
)

# The reconcile job leaves this long to the after-commit hook before stepping in.
RECONCILE_SETTLE = timedelta(minutes=1)


def endpoint_disable(*, endpoint: WebhookEndpoint, reason: str, now: datetime) -> int:
    """Disable a (locked) endpoint and cancel its pending deliveries; returns those."""
    endpoint.status = WebhookEndpoint.Status.DISABLED
    endpoint.disabled_reason = reason
    endpoint.disabled_at = now
    endpoint.save(update_fields=["status", "disabled_reason", "disabled_at"])
    return cancel(
        WebhookDelivery.objects.filter(endpoint_id=endpoint.pk, status=PENDING),
        now=now,
    )


def cancel(deliveries: QuerySet, *, now: datetime) -> int:
    return deliveries.update(
        status=WebhookDelivery.Status.CANCELED,
        next_attempt_at=None,
        completed_at=now,
    )


def deliveries_dispatch_due(*, now: datetime, batch: int = DUE_BATCH) -> int:
    """Dispatch due retries in id order; restart first attempts whose task was lost.

    The Beat job: safe to run twice or side by side (leases decide who sends).
    """
    due = (
        WebhookDelivery.objects.filter(
            _lease_free(now),
            status=PENDING,
            attempt_count__gt=0,
            next_attempt_at__lte=now,
            endpoint__status=ENABLED,
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    dispatched, after = 0, 0
    while ids := list(due.filter(id__gt=after)[:batch]):
        dispatched += claim(ids, now=now)
        after = ids[-1]
    waiting = (
        WebhookDelivery.objects.filter(
            status=PENDING, attempt_count=0, endpoint__status=ENABLED
        )
        .order_by()
        .values_list("endpoint_id", flat=True)
        .distinct()
    )
    for endpoint_id in list(waiting):
        dispatched += dispatch_first_attempts(endpoint_id=endpoint_id, now=now)
    return dispatched


def fanout_reconcile(*, now: datetime, batch: int = 1000) -> int:
    """Fan out recent events that missed the after-commit hook (a crash between)."""
    reconciled = 0
    window_start = now - settings.TALLY_WEBHOOK_RETRY_FOR
    for endpoint in WebhookEndpoint.objects.filter(status=ENABLED):
        missing = Event.objects.filter(
            livemode=endpoint.livemode,
            created__gte=max(endpoint.enabled_at, window_start),
            created__lt=now - RECONCILE_SETTLE,
        ).exclude(
            Exists(
                WebhookDelivery.objects.filter(
                    endpoint_id=endpoint.pk, event_id=OuterRef("pk")
                )
            )
        )
        missing = missing.exclude(type__in=policy.EXPLICIT_ONLY_EVENT_TYPES)
        if policy.ALL_EVENTS not in endpoint.enabled_events:
            missing = missing.filter(type__in=endpoint.enabled_events)
        for event_id in missing.order_by("created", "id").values_list("id", flat=True)[
            :batch
        ]:
            reconciled += 1
            event_fanout(event_id=event_id, now=now)
    return reconciled
