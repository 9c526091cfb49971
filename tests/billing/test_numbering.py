"""Invoice numbers never repeat, however the customer's prefix and sequence change.

Numbers are ``<invoice_prefix>-<next_invoice_sequence>`` per customer (unique). The
API and the dashboard may set both; setting them so that the next number is one an
invoice already has is refused, or the next finalization (perhaps a period close
job) would fail on the unique number.
"""

from datetime import UTC, datetime

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from billing.models import Invoice
from billing.services import invoice_create, invoice_finalize, invoice_item_create
from core.models import Customer
from tests.billing.factories import CustomerFactory, PriceFactory
from tests.helpers import error_of

pytestmark = pytest.mark.django_db

APR1 = datetime(2026, 4, 1, tzinfo=UTC)


def finalized_number(customer: Customer) -> str:
    price = PriceFactory(one_time=True)
    invoice = invoice_create(customer=customer, params={}, now=APR1)
    invoice_item_create(
        customer=customer, params={"price": price, "invoice": invoice.pk}, now=APR1
    )
    return invoice_finalize(invoice=invoice, now=APR1).number


@pytest.fixture
def customer():
    customer = CustomerFactory(invoice_prefix="NUM")
    assert [finalized_number(customer) for _ in range(3)] == [
        "NUM-0001",
        "NUM-0002",
        "NUM-0003",
    ]
    customer.refresh_from_db()
    assert customer.next_invoice_sequence == 4
    return customer


@pytest.mark.parametrize("sequence", [1, 3])
def test_setting_the_sequence_back_is_refused(api, customer, sequence):
    response = api.post(
        f"/v1/customers/{customer.pk}", {"next_invoice_sequence": sequence}
    )
    error = error_of(response)
    assert (error["param"], error["type"]) == (
        "next_invoice_sequence",
        "invalid_request_error",
    )
    assert "NUM-0003 is taken" in error["message"]
    assert "at least 4" in error["message"]
    customer.refresh_from_db()
    assert customer.next_invoice_sequence == 4


def test_setting_the_sequence_forward_skips_numbers(api, customer):
    response = api.post(f"/v1/customers/{customer.pk}", {"next_invoice_sequence": 10})
    assert response.status_code == 200
    assert response.json()["next_invoice_sequence"] == 10
    customer.refresh_from_db()
    assert finalized_number(customer) == "NUM-0010"


def test_a_new_prefix_starts_anew_and_the_old_one_cannot_repeat(api, customer):
    url = f"/v1/customers/{customer.pk}"
    renamed = api.post(url, {"invoice_prefix": "NEW", "next_invoice_sequence": 1})
    assert renamed.status_code == 200, renamed.content
    customer.refresh_from_db()
    assert finalized_number(customer) == "NEW-0001"
    # Back to NUM with the sequence at 2: NUM-0002 exists.
    error = error_of(api.post(url, {"invoice_prefix": "NUM"}))
    assert error["param"] == "next_invoice_sequence"
    assert "NUM-0003 is taken" in error["message"]
    # Back to NUM past its last number is fine.
    back = api.post(url, {"invoice_prefix": "NUM", "next_invoice_sequence": 4})
    assert back.status_code == 200, back.content
    customer.refresh_from_db()
    assert finalized_number(customer) == "NUM-0004"
    assert Invoice.objects.filter(customer=customer).count() == 5


def test_the_dashboard_form_refuses_a_prefix_that_would_repeat(admin_client, customer):
    customer.invoice_prefix = "NEW"
    customer.next_invoice_sequence = 2
    customer.save()
    response = admin_client.post(
        reverse("admin:core_customer_change", args=[quote(customer.pk)]),
        {"name": customer.name or "", "email": "", "invoice_prefix": "NUM"},
    )
    assert response.status_code == 200  # the form again, with the reason
    assert "NUM-0003 is taken" in response.content.decode()
    customer.refresh_from_db()
    assert customer.invoice_prefix == "NEW"
