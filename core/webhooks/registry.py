"""Wire webhooks into the app: the after-commit event hook, the resource, the home."""

from __future__ import annotations

import logging

from core import clock

logger = logging.getLogger(__name__)


def deliver_after_commit(event_id: str) -> None:
    """Fan an event out to the endpoints (runs after its transaction commits)."""
    from core.webhooks import dispatch

    try:
        dispatch.event_fanout(event_id=event_id, now=clock.now())
    except Exception:  # never fail the committed request; the reconcile job retries
        logger.exception("Could not fan out event %s to webhook endpoints", event_id)


def deliver_many_after_commit(event_ids: list[str]) -> None:
    """Fan out events recorded together: one read, one insert, in their order."""
    from core.webhooks import dispatch

    try:
        dispatch.events_fanout(event_ids=event_ids, now=clock.now())
    except Exception:  # never fail the committed job; the reconcile job retries
        logger.exception("Could not fan out %s events", len(event_ids))


def register() -> None:
    """Hook webhooks into the event log, the resources and the home page (``ready``)."""
    from core import dashboard, resources
    from core.api.webhook_serializers import WebhookEndpointSerializer
    from core.models import WebhookEndpoint
    from core.services.events import on_event_recorded

    on_event_recorded(deliver_after_commit, many=deliver_many_after_commit)
    resources.register(
        resources.Resource(
            object_name="webhook_endpoint",
            model=WebhookEndpoint,
            serializer=WebhookEndpointSerializer,
        )
    )
    dashboard.register_home_card(
        dashboard.HomeCard(
            name="webhooks",
            label="Webhook endpoints failing",
            value=_failing_endpoints,
            url="admin:core_webhookendpoint_changelist",
            order=95,
        )
    )
    dashboard.register_home_card(
        dashboard.HomeCard(
            name="webhook_deliveries_failed",
            label="Webhooks failed, 7 days",
            value=_failed_deliveries,
            url="/admin/core/webhookdelivery/?status__exact=failed",
            order=96,
        )
    )


def _failing_endpoints(request) -> str:
    from core.models import WebhookEndpoint

    failing = WebhookEndpoint.objects.filter(
        status=WebhookEndpoint.Status.ENABLED, failing_since__isnull=False
    ).count()
    disabled = WebhookEndpoint.objects.filter(
        status=WebhookEndpoint.Status.DISABLED
    ).count()
    return f"{failing:,} · {disabled:,} disabled" if disabled else f"{failing:,}"


def _failed_deliveries(request) -> str:
    """Deliveries that exhausted their retries in the last 7 days, in the mode."""
    from datetime import timedelta

    from core import clock
    from core.models import WebhookDelivery, WebhookEndpoint

    failed = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.FAILED,
        completed_at__gte=clock.now() - timedelta(days=7),
        endpoint__in=WebhookEndpoint.objects.values("id"),
    ).count()
    return f"{failed:,}"
