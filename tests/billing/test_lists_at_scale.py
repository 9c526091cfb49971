"""Dashboard lists at scale: capped counts, exact-id and customer-first search,
date ranges, and a number of queries that does not grow with the rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import Invoice
from core import admin_scale
from core.models import Event
from credits.models import CreditBalanceTransaction, CreditGrant
from tests.core.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NOV = datetime(2026, 11, 1, tzinfo=UTC)
INVOICES = "admin:billing_invoice_changelist"


def _invoice(customer, *, created=NOV, number=None) -> Invoice:
    return Invoice.objects.create(
        customer=customer,
        status="draft",
        billing_reason="manual",
        collection_method="send_invoice",
        currency="usd",
        period_start=created,
        period_end=created,
        created=created,
        number=number,
    )


def _ids(admin_client, name: str, **params) -> set[str]:
    response = admin_client.get(reverse(name), params)
    assert response.status_code == 200
    return {row.pk for row in response.context["cl"].result_list}


def test_a_long_list_counts_up_to_the_cap(admin_client, monkeypatch):
    monkeypatch.setattr(admin_scale, "COUNT_CAP", 3)
    customer = CustomerFactory()
    for _ in range(5):
        _invoice(customer)
    page = admin_client.get(reverse(INVOICES)).content.decode()
    assert "3+ invoices" in page
    _invoice(customer, number="X-1")
    few = admin_client.get(reverse(INVOICES), {"q": "X-1"}).content.decode()
    assert "1 invoice" in few
    assert "+ invoice" not in few


def test_search_by_number_id_and_the_customers_name_or_email(admin_client):
    ada = CustomerFactory(name="Ada Lovelace", email="ada@example.com")
    grace = CustomerFactory(name="Grace Hopper", email="grace@navy.example")
    numbered = _invoice(ada, number="ADA-0001")
    other = _invoice(grace)
    assert _ids(admin_client, INVOICES, q="ADA-0001") == {numbered.pk}
    assert _ids(admin_client, INVOICES, q=other.pk) == {other.pk}
    assert _ids(admin_client, INVOICES, q="lovelace") == {numbered.pk}
    assert _ids(admin_client, INVOICES, q="grace@navy.example") == {other.pk}
    assert _ids(admin_client, INVOICES, q=grace.pk) == {other.pk}
    assert _ids(admin_client, INVOICES, q="nobody") == set()


def test_date_range_filter_takes_days_or_instants_end_exclusive(admin_client):
    customer = CustomerFactory()
    october = _invoice(customer, created=NOV - timedelta(seconds=1))
    november = _invoice(customer, created=NOV)
    december = _invoice(customer, created=NOV + timedelta(days=30))
    assert _ids(
        admin_client, INVOICES, created__gte="2026-11-01", created__lt="2026-12-01"
    ) == {november.pk}
    assert _ids(admin_client, INVOICES, created__lt="2026-11-01T00:00:00+00:00") == {
        october.pk
    }
    assert _ids(admin_client, INVOICES, created__gte="2026-12-01") == {december.pk}
    # An offset whose "+" came through unencoded (a space) still reads.
    assert _ids(admin_client, INVOICES, created__lt="2026-11-01 00:00:00 00:00") == {
        october.pk
    }
    # A date that is none is ignored, never an error page.
    assert len(_ids(admin_client, INVOICES, created__gte="yesterday")) == 3


def test_the_date_boxes_keep_the_other_filters(admin_client):
    page = admin_client.get(
        reverse(INVOICES), {"status__exact": "open", "created__gte": "2026-11-01"}
    ).content.decode()
    assert 'name="status__exact" value="open"' in page
    assert 'name="created__gte" value="2026-11-01"' in page


def _grow(count: int) -> None:
    for index in range(count):
        customer = CustomerFactory(name=f"Customer {index}")
        invoice = _invoice(customer, number=f"N-{index}")
        grant = CreditGrant.objects.create(
            customer=customer,
            name="Promo",
            amount=1_000,
            balance=1_000,
            currency="usd",
            category="promotional",
            status="active",
            scope_price_type="metered",
            effective_at=NOV,
        )
        CreditBalanceTransaction.objects.create(
            credit_grant=grant,
            customer=customer,
            type="credit",
            kind="credits_granted",
            amount=1_000,
            currency="usd",
            effective_at=NOV,
        )
        Event.objects.create(
            type="invoice.created", api_version="x", data={}, object_id=invoice.pk
        )


@pytest.mark.parametrize(
    ("name", "params"),
    [
        (INVOICES, {}),
        (INVOICES, {"q": "Customer"}),
        ("admin:billing_subscription_changelist", {}),
        ("admin:credits_creditgrant_changelist", {}),
        ("admin:credits_creditbalancetransaction_changelist", {}),
        ("admin:core_event_changelist", {}),
        ("admin:core_customer_changelist", {}),
    ],
)
def test_lists_read_as_many_queries_for_3_rows_as_for_30(
    admin_client, django_assert_max_num_queries, name, params
):
    _grow(3)
    admin_client.get(reverse(name), params)
    with django_assert_max_num_queries(30) as few:
        admin_client.get(reverse(name), params)
    _grow(27)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(reverse(name), params)
    assert response.status_code == 200


def test_no_sidebar_reads_distinct_values_of_the_table(admin_client):
    customer = CustomerFactory()
    _invoice(customer)
    Event.objects.create(
        type="invoice.created", api_version="x", data={}, object_id="x"
    )
    for name in (
        INVOICES,
        "admin:credits_creditgrant_changelist",
        "admin:credits_creditbalancetransaction_changelist",
        "admin:core_event_changelist",
    ):
        with CaptureQueriesContext(connection) as queries:
            admin_client.get(reverse(name))
        # The currency filter lists the catalog's currencies (a small table).
        assert not [
            query["sql"]
            for query in queries.captured_queries
            if "DISTINCT" in query["sql"] and "catalog_price" not in query["sql"]
        ]


def test_customer_fields_are_a_select_when_few_and_an_id_box_when_many(
    admin_client, monkeypatch
):
    from core import form_fields

    ada = CustomerFactory(name="Ada")
    CustomerFactory(name="Grace")
    url = reverse("admin:billing_subscription_add")
    assert '<select name="customer"' in admin_client.get(url).content.decode()
    monkeypatch.setattr(form_fields, "SELECT_LIMIT", 1)
    page = admin_client.get(url).content.decode()
    assert '<select name="customer"' not in page
    assert 'name="customer"' in page
    assert 'placeholder="cus_…"' in page
    form = __import__("billing.forms", fromlist=["SubscriptionForm"]).SubscriptionForm
    assert form(data={"customer": "cus_nobody"}).errors["customer"] == [
        "No such customer: type the id (cus_…) from Customers."
    ]
    assert "customer" not in form(data={"customer": ada.pk}).errors
