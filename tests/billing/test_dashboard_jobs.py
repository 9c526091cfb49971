"""Dashboard jobs of issue 21 in billing: billing thresholds from the subscription
page, nothing preselected next to Apply, metered quantities refused, prices by
name, "to the period end" on the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from billing.services import subscription_create
from core.dashboard import clock_shortcuts
from core.models import TestClock
from tests.billing.factories import (
    CustomerFactory,
    TestClockFactory,
    hypernian,
    record_usage,
)
from tests.credits.factories import make_grant

pytestmark = pytest.mark.django_db

APR1 = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture
def customer():
    return CustomerFactory(
        name="Northwind", test_clock=TestClockFactory(frozen_time=APR1)
    )


@pytest.fixture
def subscription(customer):
    flat, overage = hypernian()
    return subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
        now=APR1,
    )


def _page(client, subscription) -> str:
    url = reverse("admin:billing_subscription_change", args=[quote(subscription.pk)])
    return client.get(url).content.decode()


def test_set_a_threshold_and_see_its_progress_after_credits(
    admin_client, subscription, customer
):
    page = _page(admin_client, subscription)
    assert "Credits are subtracted first" in page
    assert "Set threshold" in page
    make_grant(customer, 5000, now=APR1)
    url = reverse(
        "admin:billing_subscription_thresholds", args=[quote(subscription.pk)]
    )
    response = admin_client.post(url, {"amount_gte": "275"})
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.threshold_amount_gte == 27500
    assert subscription.threshold_reset_anchor is False
    page = _page(admin_client, subscription)
    assert (
        '$0.00</strong> of <span class="tally-money">$275.00</span> after credits'
        in (page)
    )
    admin_client.post(url, {"amount_gte": ""})
    subscription.refresh_from_db()
    assert subscription.threshold_amount_gte is None


def test_a_threshold_below_the_licensed_prices_is_refused(admin_client, subscription):
    url = reverse(
        "admin:billing_subscription_thresholds", args=[quote(subscription.pk)]
    )
    response = admin_client.post(url, {"amount_gte": "75"}, follow=True)
    assert "greater than the sum" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.threshold_amount_gte is None


def test_nothing_is_preselected_next_to_apply(admin_client, subscription):
    page = _page(admin_client, subscription)
    cancel = page.split('class="billing-cancel"', 1)[1].split("</form>", 1)[0]
    assert "selected" not in cancel.split('value="now"', 1)[1]
    url = reverse("admin:billing_subscription_cancel", args=[quote(subscription.pk)])
    admin_client.post(url, {"when": ""})
    subscription.refresh_from_db()
    assert subscription.status == "active"
    assert not subscription.cancel_at_period_end


def test_items_show_prices_by_name_with_the_id_small(admin_client, subscription):
    page = _page(admin_client, subscription)
    items = page.split('id="items"', 1)[1].split("</table>", 1)[0]
    assert "Hypernian Pro</a>" in items
    assert '<div class="tally-muted"><code>price_' in items


def test_a_quantity_on_a_metered_price_is_refused(admin_client, customer):
    flat, overage = hypernian()
    response = admin_client.post(
        reverse("admin:billing_subscription_add"),
        {
            "customer": customer.pk,
            "price_0": flat.pk,
            "price_1": overage.pk,
            "quantity_1": "5",
            "collection_method": "charge_automatically",
        },
    )
    assert response.status_code == 200
    assert "A metered price is billed on reported usage" in response.content.decode()
    assert not customer.subscriptions.exists()


def test_the_clock_offers_the_period_end(subscription, customer):
    shortcuts = dict(clock_shortcuts(customer.test_clock))
    assert shortcuts["To the period end"] == subscription.current_period_end


def test_threshold_progress_counts_usage_less_credits(admin_client, customer):
    flat, overage = hypernian()
    subscription = subscription_create(
        customer=customer,
        params={
            "items": [{"price": flat.pk}, {"price": overage.pk}],
            "billing_thresholds": {"amount_gte": 27500},
        },
        now=APR1,
    )
    make_grant(customer, 5000, now=APR1)
    # 200,000 tokens: 100,000 free, then 0.1 cent each = $100.00; less $50 credits.
    record_usage(
        meter=overage.recurring_meter,
        customer=customer,
        value=200_000,
        at=APR1 + timedelta(days=1),
    )
    TestClock.objects.filter(pk=customer.test_clock_id).update(
        frozen_time=APR1 + timedelta(days=5)
    )
    progress = _page(admin_client, subscription).split("data-threshold-progress>", 1)[1]
    assert progress.startswith(
        '<strong class="tally-money">$50.00</strong> of '
        '<span class="tally-money">$275.00</span> after credits'
    )
