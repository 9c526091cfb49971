"""Dimensions in the staff dashboard and on the customer's usage page: a meter
created with dimensions, its page grouped by one, a price on a segment, and the
customer's usage per dimension value."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from catalog.models import Price
from core.services.portal import portal_session_create
from metering import services, views
from metering.models import Meter
from tests.catalog.factories import ProductFactory
from tests.metering.factories import CustomerFactory

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def staff(client, django_user_model):
    django_user_model.objects.create_superuser(
        "staff", "staff@example.com", "pw-123-xyz"
    )
    client.login(username="staff", password="pw-123-xyz")
    return client


@pytest.fixture
def tokens(db):
    meter = services.meter_create(
        display_name="Tokens",
        event_name="tokens",
        formula="sum",
        dimension_payload_keys=["model", "region"],
        now=NOW,
        livemode=False,
    )
    customer = CustomerFactory(name="Jenny")
    for value, model in [(100, "large"), (20, "large"), (3, "small"), (1, None)]:
        services.meter_event_create(
            event_name="tokens",
            payload={
                "stripe_customer_id": customer.id,
                "value": str(value),
                **({"model": model} if model else {}),
            },
            timestamp=NOW - timedelta(hours=2),
            now=NOW,
        )
    return meter, customer


def meter_form(**fields):
    return {
        "display_name": "Storage",
        "event_name": "storage_gb",
        "formula": "time_weighted_sum",
        "customer_payload_key": "stripe_customer_id",
        "value_payload_key": "value",
        "event_time_window": "",
        "dimension_payload_keys": "region, tier",
        "unique_payload_key": "",
        **fields,
    }


def test_create_meter_with_dimensions(staff, db):
    response = staff.post(reverse("admin:metering_meter_add"), meter_form())
    assert response.status_code == 302
    meter = Meter.objects.get()
    assert meter.dimension_payload_keys == ["region", "tier"]
    assert meter.formula == "time_weighted_sum"


def test_bad_dimension_is_shown_on_its_field(staff, db):
    response = staff.post(
        reverse("admin:metering_meter_add"),
        meter_form(formula="unique_count", unique_payload_key="user"),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["unique_payload_key"]
    assert not Meter.objects.exists()


def test_meter_page_groups_usage_by_a_dimension(staff, tokens):
    meter, _ = tokens
    page = staff.get(views.meter_url(meter)).content.decode()
    assert "data-dimension>model<" in page
    assert 'data-group="large"' in page
    assert 'data-group="(none)"' in page
    by_region = staff.get(views.meter_url(meter, group_by="region"))
    rows = by_region.context["by_dimension"]["rows"]
    assert [(row["value"], row["usage"]) for row in rows] == [("(none)", 124)]


def test_price_form_bills_a_segment(admin_client, tokens):
    meter, _ = tokens
    product = ProductFactory(name="Tokens")
    data = {
        "price-pricing_model": "per_unit",
        "price-currency": "usd",
        "price-amount": "0.02",
        "price-package_round": "up",
        "price-billing_period": "month",
        "price-interval_count": "1",
        "price-usage_type": "metered",
        "price-meter": meter.pk,
        "price-segment": "model=large",
        "price-tiers-TOTAL_FORMS": "1",
        "price-tiers-INITIAL_FORMS": "0",
        "price-tiers-MIN_NUM_FORMS": "1",
        "price-tiers-MAX_NUM_FORMS": "250",
    }
    response = admin_client.post(
        f"/admin/catalog/price/add/?product={product.pk}", data
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Price.objects.get().recurring_meter_segment_conditions == [
        {"dimension": "model", "value": "large"}
    ]
    refused = admin_client.post(
        f"/admin/catalog/price/add/?product={product.pk}",
        {**data, "price-segment": "colour=red"},
    )
    assert refused.status_code == 200
    assert "has no dimension" in refused.content.decode()
    assert Price.objects.count() == 1


def test_customer_usage_page_by_dimension(client, tokens):
    meter, customer = tokens
    link = portal_session_create(customer=customer, now=NOW).url
    page = client.get(f"{link}usage/{meter.pk}/?range=24h")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-group="large"' in html
    rows = page.context["by_dimension"]["rows"]
    assert rows == [("(none)", 1), ("large", 120), ("small", 3)]
    assert sum(value for _, value in rows) == 124
