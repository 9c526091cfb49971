"""Dashboard: alert list, Create alert, the alert page, customer panel, home card."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from alerts.models import Alert
from alerts.services import (
    alert_deactivate,
    alerts_evaluate,
    billing_thresholds_evaluate,
)
from billing.services import subscription_create
from core import clock
from tests.alerts.factories import (
    CustomerFactory,
    MeterFactory,
    PriceFactory,
    make_alert,
    report,
)

pytestmark = pytest.mark.django_db

APR1 = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture
def meter():
    return MeterFactory(display_name="API tokens", event_name="api_tokens")


@pytest.fixture
def customer():
    return CustomerFactory(name="Northwind Analytics")


def alert_page(alert) -> str:
    return reverse("admin:alerts_alert_change", args=[quote(alert.pk)])


def test_list_shows_status_badges_and_triggered_counts(admin_client, meter, customer):
    now = clock.now()
    fired = make_alert(meter=meter, gte=10, title="Ten tokens", now=now)
    quiet = make_alert(
        meter=meter, customer=customer, gte=10**6, title="Quiet", now=now
    )
    alert_deactivate(alert=quiet, now=now)
    for other in (customer, CustomerFactory()):
        report(meter=meter, customer=other, value=10, now=now)
    alerts_evaluate(now=now + timedelta(seconds=1))
    html = admin_client.get(reverse("admin:alerts_alert_changelist")).content.decode()
    assert "Ten tokens" in html
    assert "All customers" in html
    assert "Northwind Analytics" in html
    assert f'data-triggered="{fired.pk}">2<' in html
    assert f'data-triggered="{quiet.pk}">0<' in html
    assert 'class="tally-badge active" data-status="active"' in html
    assert 'class="tally-badge warn" data-status="inactive"' in html


def test_create_alert_for_a_customer_from_the_form(admin_client, meter, customer):
    add = reverse("admin:alerts_alert_add")
    page = admin_client.get(f"{add}?customer={customer.pk}")
    html = page.content.decode()
    assert page.status_code == 200
    assert f'<option value="{customer.pk}" selected>' in html
    assert "All customers (each one individually)" in html
    response = admin_client.post(
        f"{add}?customer={customer.pk}",
        {
            "title": "1,000 tokens",
            "meter": meter.pk,
            "gte": "1000",
            "customer": customer.pk,
        },
    )
    alert = Alert.objects.get()
    assert response.status_code == 302
    assert response["Location"] == alert_page(alert)
    assert (alert.title, alert.meter, alert.gte, alert.customer) == (
        "1,000 tokens",
        meter,
        1000,
        customer,
    )


def test_create_alert_for_everyone(admin_client, meter):
    admin_client.post(
        reverse("admin:alerts_alert_add"),
        {"title": "Everyone", "meter": meter.pk, "gte": "5", "customer": ""},
    )
    assert Alert.objects.get().customer is None


def test_the_form_shows_errors_next_to_fields(admin_client, meter, customer):
    add = reverse("admin:alerts_alert_add")
    page = admin_client.post(add, {"title": "", "meter": meter.pk, "gte": "0"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Please correct the errors below." in html
    assert "Ensure this value is greater than or equal to 1." in html
    for _ in range(25):
        make_alert(meter=meter, customer=customer, now=clock.now())
    page = admin_client.post(
        add,
        {
            "title": "One too many",
            "meter": meter.pk,
            "gte": "5",
            "customer": customer.pk,
        },
    )
    assert "already has 25 alerts" in page.content.decode()
    assert Alert.objects.count() == 25


def test_alert_page_shows_triggers_and_changes_status(admin_client, meter, customer):
    now = clock.now()
    alert = make_alert(meter=meter, gte=10, title="Ten tokens", now=now)
    report(meter=meter, customer=customer, value=12, now=now)
    alerts_evaluate(now=now + timedelta(seconds=1))
    html = admin_client.get(alert_page(alert)).content.decode()
    assert f'data-trigger="{customer.pk}"' in html
    assert "Northwind Analytics" in html
    assert ">12<" in html
    assert 'data-action="deactivate"' in html
    assert 'data-action="activate"' not in html

    base = alert_page(alert).removesuffix("change/")
    admin_client.post(f"{base}deactivate/")
    alert.refresh_from_db()
    assert alert.status == "inactive"
    assert (
        'data-action="activate"' in admin_client.get(alert_page(alert)).content.decode()
    )
    admin_client.post(f"{base}archive/")
    alert.refresh_from_db()
    assert alert.status == "archived"
    html = admin_client.get(alert_page(alert)).content.decode()
    assert "data-action" not in html
    # Archived is final: the button is gone and a forged POST only shows an error.
    response = admin_client.post(f"{base}activate/", follow=True)
    assert "archived" in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == "archived"


def test_status_changes_need_post(admin_client, meter):
    alert = make_alert(meter=meter, now=clock.now())
    base = alert_page(alert).removesuffix("change/")
    assert admin_client.get(f"{base}archive/").status_code == 405
    assert Alert.objects.get().status == "active"


def test_customer_panel_lists_alerts_and_threshold_invoices(
    admin_client, meter, customer
):
    now = clock.now()
    make_alert(meter=meter, customer=customer, gte=10**6, title="Mine", now=now)
    make_alert(meter=meter, gte=10**6, title="Everyone's", now=now)
    make_alert(meter=meter, customer=CustomerFactory(), gte=5, title="Someone else's")
    price = PriceFactory(
        unit_amount_decimal=Decimal(100),
        recurring_usage_type="metered",
        recurring_meter=meter,
    )
    subscription_create(
        customer=customer,
        params={
            "items": [{"price": price.pk}],
            "billing_thresholds": {"amount_gte": 10000},
        },
        now=APR1,
    )
    report(meter=meter, customer=customer, value=150, now=APR1 + timedelta(days=3))
    billing_thresholds_evaluate(now=APR1 + timedelta(days=3, hours=1))

    page = admin_client.get(
        reverse("admin:core_customer_change", args=[quote(customer.pk)])
    )
    html = page.content.decode()
    assert "Alerts and thresholds" in html
    assert f'data-alerts="{customer.pk}"' in html
    assert "Mine" in html
    assert "Everyone&#x27;s" in html
    assert "Someone else" not in html
    assert f"{reverse('admin:alerts_alert_add')}?customer={customer.pk}" in html
    assert "amount ≥ $100.00" in html
    assert "$150.00" in html


def test_home_card_and_quick_link(admin_client, meter):
    make_alert(meter=meter, now=clock.now())
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert "Usage alerts" in html
    assert "1 active · 0 fired today" in html
    assert reverse("admin:alerts_alert_add") in html


def test_threshold_invoices_list(admin_client):
    page = admin_client.get(reverse("admin:alerts_thresholdinvoice_changelist"))
    assert page.status_code == 200
