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


def _card(page: str, label: str) -> str:
    import re

    found = re.search(rf">{label}</div><div class=\"value\"><a [^>]*>([^<]*)<", page)
    return found.group(1)


def test_customer_and_subscription_counts_are_kept_a_minute(admin_client):
    from django.core.cache import cache

    from tests.core.factories import CustomerFactory

    CustomerFactory(name="First")
    first = admin_client.get(reverse("admin:index")).content.decode()
    assert _card(first, "Customers") == "1"
    assert _card(first, "Active subscriptions") == "0"
    CustomerFactory(name="Second")
    # Read from the cache for a minute: a count of every row is not made per visit.
    kept = admin_client.get(reverse("admin:index")).content.decode()
    assert _card(kept, "Customers") == "1"
    assert "customers and active subscriptions as of" in kept
    cache.clear()  # the minute passed
    fresh = admin_client.get(reverse("admin:index")).content.decode()
    assert _card(fresh, "Customers") == "2"
