"""What invoice documents print of discounts and taxes: each discount with its
coupon's name and terms beside the amount, as Stripe's invoices do (on the PDF,
the hosted page and the staff page alike); reverse charge and the buyer's VAT id."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote
from django.test import Client

from billing.documents.files import invoice_pdf_render
from billing.documents.rows import coupon_label
from billing.services import (
    invoice_create,
    invoice_finalize_manual,
    invoice_item_create,
)
from billing.services.coupons import coupon_create, promotion_code_create
from billing.taxes.customer_tax_ids import tax_id_create
from billing.taxes.rates import tax_rate_create
from tests.billing.factories import CustomerFactory
from tests.billing.test_credit_note_documents import APR1, discounted_taxed_invoice
from tests.billing.test_documents import SELLER, pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _documents(settings, tmp_path):
    settings.TALLY_SELLER = SELLER
    settings.TALLY_DOCUMENTS_DIR = tmp_path / "documents"


@pytest.mark.parametrize(
    ("coupon", "code", "label"),
    [
        ({"name": "Launch", "percent_off": Decimal(20)}, None, "Launch (20% off)"),
        ({"name": "Half", "percent_off": Decimal("12.5")}, None, "Half (12.5% off)"),
        (
            {"name": "Welcome", "amount_off": 1_000, "currency": "eur"},
            "WELCOME10",
            "Welcome (WELCOME10, €10.00 off)",
        ),
        (
            {"id": "SPRING", "amount_off": 250, "currency": "usd"},
            None,
            "SPRING ($2.50 off)",
        ),
    ],
)
def test_coupon_labels(coupon, code, label):
    made = coupon_create(params=coupon, now=APR1)
    assert coupon_label(made, code) == label


def test_the_pdf_prints_the_coupon_beside_each_discount():
    invoice = discounted_taxed_invoice()
    text = pdf_text(invoice_pdf_render(invoice=invoice))
    for snippet in (
        "Launch (20% off) -$20.00",  # under the seats
        "Launch (20% off) -$10.00",  # under the setup
        "Launch (20% off) -$30.00",  # in the totals
        "Total excluding tax $120.00",
        "Total $142.80",
    ):
        assert snippet in text, snippet
    assert "Discount -" not in text


def test_a_promotion_code_prints_its_code_on_every_page(admin_client):
    customer = CustomerFactory(name="Jenny Rosen")
    coupon = coupon_create(
        params={"name": "Welcome", "amount_off": 1_000, "currency": "usd"}, now=APR1
    )
    code = promotion_code_create(
        params={"coupon": coupon.pk, "code": "WELCOME10"}, now=APR1
    )
    invoice = invoice_create(
        customer=customer,
        params={"currency": "usd", "discounts": [{"promotion_code": code.pk}]},
        now=APR1,
    )
    invoice_item_create(
        customer=customer,
        params={"invoice": invoice.pk, "amount": 4_000, "currency": "usd"},
        now=APR1,
    )
    invoice = invoice_finalize_manual(invoice=invoice, now=APR1)
    assert invoice.total == 3_000
    label = "Welcome (WELCOME10, $10.00 off)"
    assert f"{label} -$10.00" in pdf_text(invoice_pdf_render(invoice=invoice))
    hosted = Client().get(f"/i/{invoice.hosted_token}/").content.decode()
    assert label in hosted
    staff = admin_client.get(
        f"/admin/billing/invoice/{quote(invoice.pk)}/change/"
    ).content.decode()
    assert f"Discount: {label}" in staff


def test_a_reverse_charge_invoice_prints_it_and_the_buyers_vat_id():
    customer = CustomerFactory(name="Zoë Müller GmbH", tax_exempt="reverse")
    tax_id_create(customer=customer, tax_type="eu_vat", value="DE136695976", now=APR1)
    vat = tax_rate_create(
        params={"display_name": "VAT", "percentage": Decimal(19), "inclusive": False},
        now=APR1,
    )
    invoice = invoice_create(
        customer=customer,
        params={"currency": "eur", "default_tax_rates": [vat.pk]},
        now=APR1,
    )
    invoice_item_create(
        customer=customer,
        params={"invoice": invoice.pk, "amount": 10_000, "currency": "eur"},
        now=APR1,
    )
    invoice = invoice_finalize_manual(invoice=invoice, now=APR1)
    assert invoice.total == 10_000
    text = pdf_text(invoice_pdf_render(invoice=invoice))
    for snippet in (
        "EU VAT DE136695976",
        "VAT 19% (excl.) on €100.00 €0.00",
        "Total €100.00",
        "Reverse charge: the customer accounts for the tax.",
    ):
        assert snippet in text, snippet
