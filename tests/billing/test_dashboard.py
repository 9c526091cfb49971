"""Dashboard pages: create a subscription, seed 003's prepayment invoice steps,
the invoice page, the customer panel and the home cards."""

from datetime import UTC, datetime

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from billing.models import Invoice, Subscription
from billing.services import subscription_create
from tests.billing.factories import CustomerFactory, TestClockFactory, hypernian

APR1 = datetime(2026, 4, 1, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock_customer():
    return CustomerFactory(
        name="Northwind Analytics", test_clock=TestClockFactory(frozen_time=APR1)
    )


def test_create_subscription_page(admin_client, clock_customer):
    flat, overage = hypernian()
    url = reverse("admin:billing_subscription_add")
    page = admin_client.get(url, {"customer": clock_customer.pk})
    assert page.status_code == 200
    assert "Hypernian Pro" in page.content.decode()
    response = admin_client.post(
        url,
        {
            "customer": clock_customer.pk,
            "price_0": flat.pk,
            "quantity_0": "2",
            "price_1": overage.pk,
            "collection_method": "charge_automatically",
        },
    )
    subscription = Subscription.objects.get(customer=clock_customer)
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:billing_subscription_change", args=[quote(subscription.pk)]
    )
    assert subscription.latest_invoice.total == 40000
    detail = admin_client.get(response["Location"]).content.decode()
    assert "Usage so far this period" in detail
    assert "Upcoming invoice" in detail
    assert "$400.00" in detail
    assert "Advance test clock to" in detail


def test_create_subscription_errors_stay_on_the_form(admin_client, clock_customer):
    response = admin_client.post(
        reverse("admin:billing_subscription_add"),
        {"customer": clock_customer.pk, "collection_method": "charge_automatically"},
    )
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not Subscription.objects.exists()


def test_cancel_buttons(admin_client, clock_customer):
    flat, _ = hypernian()
    sub = subscription_create(
        customer=clock_customer, params={"items": [{"price": flat.pk}]}, now=APR1
    )
    url = reverse("admin:billing_subscription_cancel", args=[quote(sub.pk)])
    admin_client.post(url, {"when": "period_end"})
    sub.refresh_from_db()
    assert sub.cancel_at_period_end
    admin_client.post(url, {"when": "keep"})
    sub.refresh_from_db()
    assert not sub.cancel_at_period_end
    admin_client.post(url, {"when": "now", "prorate": "on", "invoice_now": "on"})
    sub.refresh_from_db()
    assert sub.status == "canceled"


def test_seed_003_prepayment_in_the_dashboard(
    admin_client, clock_customer, mailoutbox, django_capture_on_commit_callbacks
):
    url = reverse("admin:billing_invoice_add")
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(
        url,
        {
            "customer": clock_customer.pk,
            "currency": "usd",
            "collection_method": "send_invoice",
            "days_until_due": "30",
            "item_0": "Hypernian Credits",
            "price_0": "100,000",
            "quantity_0": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()
    invoice = Invoice.objects.get(customer=clock_customer)
    assert (invoice.status, invoice.total) == ("draft", 10_000_000)
    action = "admin:billing_invoice_action"
    for step in ("finalize", "send", "pay"):
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(reverse(action, args=[quote(invoice.pk), step]))
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("paid", 10_000_000)
    # Finalizing emails the invoice, and so does "send".
    assert len(mailoutbox) == 2
    page = admin_client.get(response["Location"]).content.decode()
    for text in (
        "Hypernian Credits",
        "Applied credits",
        "Subtotal",
        "Amount due",
        "$100,000.00",
        invoice.number,
        "Print",
    ):
        assert text in page
    admin_client.post(reverse(action, args=[invoice.pk, "void"]))
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_invoice_form_validates_prices(admin_client, clock_customer):
    response = admin_client.post(
        reverse("admin:billing_invoice_add"),
        {
            "customer": clock_customer.pk,
            "currency": "usd",
            "collection_method": "send_invoice",
            "item_0": "Setup",
            "price_0": "12.345",
        },
    )
    assert "Too many decimal places" in response.content.decode()
    assert not Invoice.objects.exists()


def test_lists_panels_and_home(admin_client, clock_customer):
    flat, overage = hypernian()
    subscription_create(
        customer=clock_customer,
        params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
        now=APR1,
    )
    invoices = admin_client.get(
        reverse("admin:billing_invoice_changelist"), {"status__exact": "open"}
    )
    assert invoices.status_code == 200
    assert "Create invoice" in invoices.content.decode()
    subscriptions = admin_client.get(reverse("admin:billing_subscription_changelist"))
    assert "Create subscription" in subscriptions.content.decode()
    customer = admin_client.get(
        reverse("admin:core_customer_change", args=[quote(clock_customer.pk)])
    ).content.decode()
    assert "Subscriptions and invoices" in customer
    assert "Create subscription" in customer
    home = admin_client.get(reverse("admin:index")).content.decode()
    assert "Open invoices" in home
    assert "$200.00" in home
