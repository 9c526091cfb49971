"""Staff pages for taxes: tax rates (list, create, edit, archive), a customer's tax
status and tax ids, and the taxes on the invoice page and the customer's page."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from billing.models import Invoice, TaxId, TaxRate
from billing.services import (
    invoice_create,
    invoice_finalize_manual,
    invoice_item_create,
)
from billing.taxes.rates import tax_rate_create
from core.models import Customer
from tests.billing.factories import CustomerFactory

APR1 = datetime(2026, 4, 1, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def rate_form(**overrides) -> dict:
    return {
        "display_name": "VAT",
        "percentage": "19",
        "description": "",
        "jurisdiction": "DE",
        "country": "DE",
        "state": "",
        "tax_type": "vat",
        "active": "on",
        **overrides,
    }


def test_create_list_and_edit_tax_rates(admin_client):
    response = admin_client.post(reverse("admin:billing_taxrate_add"), rate_form())
    assert response.status_code == 302
    rate = TaxRate.objects.get()
    assert (rate.percentage, rate.inclusive, rate.jurisdiction) == (19, False, "DE")
    listing = admin_client.get(reverse("admin:billing_taxrate_changelist"))
    assert "19%" in listing.content.decode()
    change = reverse("admin:billing_taxrate_change", args=[quote(rate.pk)])
    response = admin_client.post(
        change, rate_form(display_name="MwSt", percentage="20", inclusive="on")
    )
    assert response.status_code == 302
    rate.refresh_from_db()
    assert (rate.display_name, rate.percentage, rate.inclusive) == ("MwSt", 20, True)


def finalized(customer: Customer, rate: TaxRate, amount=10000) -> Invoice:
    invoice = invoice_create(
        customer=customer,
        params={"currency": "usd", "default_tax_rates": [rate.pk]},
        now=APR1,
    )
    invoice_item_create(
        customer=customer,
        params={
            "invoice": invoice.pk,
            "amount": amount,
            "currency": "usd",
            "description": "Consulting",
        },
        now=APR1,
    )
    return invoice_finalize_manual(invoice=invoice, now=APR1)


def test_a_used_rates_percentage_is_locked_on_its_page(admin_client):
    rate = tax_rate_create(
        params={"display_name": "VAT", "percentage": Decimal(19), "inclusive": False},
        now=APR1,
    )
    finalized(CustomerFactory(), rate)
    change = reverse("admin:billing_taxrate_change", args=[quote(rate.pk)])
    page = admin_client.get(change).content.decode()
    assert "Used on a finalized invoice" in page
    admin_client.post(change, rate_form(display_name="Umsatzsteuer", percentage="25"))
    rate.refresh_from_db()
    assert (rate.display_name, rate.percentage) == ("Umsatzsteuer", 19)


def test_archive_action(admin_client):
    rate = tax_rate_create(
        params={"display_name": "VAT", "percentage": Decimal(19), "inclusive": False},
        now=APR1,
    )
    admin_client.post(
        reverse("admin:billing_taxrate_changelist"),
        {"action": "archive", "_selected_action": [rate.pk]},
    )
    rate.refresh_from_db()
    assert rate.active is False


def test_customer_tax_status_and_tax_ids(admin_client):
    customer = CustomerFactory(name="Jenny Rosen")
    page = admin_client.get(
        reverse("admin:core_customer_change", args=[quote(customer.pk)])
    ).content.decode()
    assert "data-tax-panel" in page
    assert "No tax ids." in page
    manage = reverse("admin:billing_customer_taxes", args=[quote(customer.pk)])
    refused = admin_client.post(manage, {"type": "eu_vat", "value": "DE136695977"})
    assert refused.status_code == 200
    assert "not a valid tax id" in refused.content.decode()
    added = admin_client.post(manage, {"type": "eu_vat", "value": "DE136695976"})
    assert added.status_code == 302
    tax_id = TaxId.objects.get(customer=customer)
    assert "DE136695976" in admin_client.get(manage).content.decode()
    admin_client.post(
        reverse(
            "admin:billing_customer_tax_id_delete",
            args=[quote(customer.pk), quote(tax_id.pk)],
        )
    )
    assert not TaxId.objects.filter(customer=customer).exists()


def test_invoice_page_shows_taxes_and_reverse_charge(admin_client):
    rate = tax_rate_create(
        params={
            "display_name": "VAT",
            "percentage": Decimal(19),
            "inclusive": False,
            "jurisdiction": "DE",
        },
        now=APR1,
    )
    customer = CustomerFactory(tax_exempt="reverse")
    reverse_invoice = finalized(customer, rate)
    page = admin_client.get(
        reverse("admin:billing_invoice_change", args=[quote(reverse_invoice.pk)])
    ).content.decode()
    assert "Reverse charge" in page
    assert "VAT 19% (DE)" in page
    Customer.objects.filter(pk=customer.pk).update(tax_exempt="none")
    customer.refresh_from_db()
    invoice = finalized(customer, rate)
    page = admin_client.get(
        reverse("admin:billing_invoice_change", args=[quote(invoice.pk)])
    ).content.decode()
    assert "Total excluding tax" in page
    assert "$19.00" in page
    assert "$119.00" in page
    assert "Reverse charge" not in page


def test_create_invoice_page_applies_tax_rates(admin_client):
    rate = tax_rate_create(
        params={"display_name": "VAT", "percentage": Decimal(20), "inclusive": False},
        now=APR1,
    )
    customer = CustomerFactory()
    response = admin_client.post(
        reverse("admin:billing_invoice_add"),
        {
            "customer": customer.pk,
            "currency": "usd",
            "collection_method": "send_invoice",
            "days_until_due": "30",
            "item_0": "Setup",
            "price_0": "100.00",
            "quantity_0": "1",
            "default_tax_rates": [rate.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()
    invoice = Invoice.objects.get(customer=customer)
    assert invoice.default_tax_rates == [rate.pk]
    invoice = invoice_finalize_manual(invoice=invoice, now=APR1)
    assert invoice.total == 12000


def test_the_customers_own_invoice_page_shows_taxes(client):
    from core import clock
    from core.services.portal import portal_session_create

    rate = tax_rate_create(
        params={"display_name": "GST", "percentage": Decimal(10), "inclusive": True},
        now=APR1,
    )
    customer = CustomerFactory(tax_exempt="none")
    invoice = finalized(customer, rate, amount=11000)
    link = portal_session_create(customer=customer, now=clock.now()).url
    page = client.get(f"{link}invoices/{invoice.pk}/").content.decode()
    assert "GST 10% incl.: $10.00" in page
    assert "GST 10% included on $100.00" in page
    assert "$110.00" in page


def test_the_customer_form_sets_the_tax_status(admin_client):
    customer = CustomerFactory(name="Jenny Rosen", invoice_prefix="JENNY")
    response = admin_client.post(
        reverse("admin:core_customer_change", args=[quote(customer.pk)]),
        {"name": "Jenny Rosen", "invoice_prefix": "JENNY", "tax_exempt": "reverse"},
    )
    assert response.status_code == 302, response.content.decode()
    customer.refresh_from_db()
    assert customer.tax_exempt == "reverse"
