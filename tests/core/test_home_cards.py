"""Cards of the dashboard home that core draws: failed webhook deliveries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from core import clock, modes
from core.models import Event, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def _failed(*, livemode: bool, days_ago: int) -> None:
    with modes.scope(livemode):
        endpoint = WebhookEndpoint.objects.create(
            url="https://example.com/hook",
            enabled_events=["*"],
            secret="whsec_test",
            livemode=livemode,
        )
    event = Event.objects.create(
        type="invoice.paid", api_version="x", data={}, object_id="in_1"
    )
    WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=event,
        status=WebhookDelivery.Status.FAILED,
        completed_at=clock.now() - timedelta(days=days_ago),
    )


def test_failed_deliveries_of_the_last_week_in_the_mode(admin_client):
    _failed(livemode=False, days_ago=1)
    _failed(livemode=False, days_ago=8)
    _failed(livemode=True, days_ago=1)
    page = admin_client.get(reverse("admin:index")).content.decode()
    card = page[page.index("Webhooks failed, 7 days") :][:300]
    assert 'href="/admin/core/webhookdelivery/?status__exact=failed">1<' in card
