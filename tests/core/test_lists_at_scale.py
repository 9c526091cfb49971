"""Dashboard lists: search, customer and period filters, and a fixed number of
queries whatever the number of rows (no query per row)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import Invoice
from billing.services import subscription_create
from core import clock
from tests.billing.factories import CustomerFactory, hypernian
from tests.credits.factories import make_grant

pytestmark = pytest.mark.django_db

LISTS = [
    "admin:billing_invoice_changelist",
    "admin:billing_subscription_changelist",
    "admin:credits_creditgrant_changelist",
    "admin:credits_creditbalancetransaction_changelist",
    "admin:core_event_changelist",
    "admin:core_auditentry_changelist",
    "admin:core_customer_changelist",
]


def _customers_with_billing(count: int, prices) -> list:
    flat, overage = prices
    now = clock.now()
    customers = []
    for index in range(count):
        customer = CustomerFactory(
            name=f"Customer {index}", email=f"c{index}@x.example"
        )
        subscription_create(
            customer=customer,
            params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
            now=now,
        )
        make_grant(customer, 1000 + index, now=now)
        customers.append(customer)
    return customers


def _queries(client, url_name: str, params: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(url_name), params or {})
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("url_name", LISTS)
def test_a_list_takes_as_many_queries_for_two_rows_as_for_six(admin_client, url_name):
    prices = hypernian()
    _customers_with_billing(2, prices)
    _queries(admin_client, url_name)  # warm the session and content types
    few = _queries(admin_client, url_name)
    _customers_with_billing(4, prices)
    assert _queries(admin_client, url_name) == few


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:billing_invoice_changelist",
        "admin:billing_subscription_changelist",
        "admin:credits_creditgrant_changelist",
        "admin:credits_creditbalancetransaction_changelist",
    ],
)
def test_customer_and_period_filters(admin_client, url_name):
    first, second = _customers_with_billing(2, hypernian())
    today = clock.now().date()
    response = admin_client.get(
        reverse(url_name),
        {"customer": first.pk, "created__gte": str(today - timedelta(days=30))},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Customer 0" in html
    assert "Customer 1" not in html
    response = admin_client.get(
        reverse(url_name), {"customer": first.pk, "created__gte": str(today)}
    )
    assert response.status_code == 200
    assert "Customer 0" in response.content.decode()
    later = admin_client.get(
        reverse(url_name),
        {"customer": first.pk, "created__gte": str(today + timedelta(days=1))},
    )
    assert "Customer 0" not in later.content.decode()


def test_invoices_found_by_number_email_and_id(admin_client):
    _customers_with_billing(2, hypernian())
    invoice = Invoice.objects.get(customer__name="Customer 1")
    url = reverse("admin:billing_invoice_changelist")
    for query in (invoice.number, "c1@x.example", invoice.pk):
        html = admin_client.get(url, {"q": query}).content.decode()
        assert "Customer 1" in html, query
        assert "Customer 0" not in html, query


def test_old_rows_leave_the_period(admin_client):
    customer = CustomerFactory(name="Old Co")
    make_grant(customer, 1000, now=datetime(2020, 1, 1, tzinfo=UTC))
    url = reverse("admin:credits_creditgrant_changelist")
    since = str(clock.now().date() - timedelta(days=7))
    response = admin_client.get(url, {"created__gte": since})
    assert response.status_code == 200
    assert "Old Co" not in response.content.decode()
    assert "Old Co" in admin_client.get(url).content.decode()
