"""``hosted_invoice_url`` and ``invoice_pdf``: public, per-invoice, token-guarded."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import requests
from django.apps import apps
from django.contrib.admin.utils import quote
from django.test import Client, TestCase

from billing.models import Invoice
from billing.services import invoice_create, invoice_finalize, invoice_item_create
from core import clock, modes
from core.services.portal import portal_session_create
from tests.billing.factories import CustomerFactory, PriceFactory

APR1 = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _documents_dir(settings, tmp_path):
    settings.TALLY_DOCUMENTS_DIR = tmp_path / "documents"
    settings.TALLY_PUBLIC_URL = ""


def finalized(name: str = "Jenny Rosen", prefix: str | None = None) -> Invoice:
    customer = CustomerFactory(
        name=name, **({"invoice_prefix": prefix} if prefix else {})
    )
    invoice = invoice_create(customer=customer, params={}, now=APR1)
    price = PriceFactory(one_time=True, unit_amount_decimal=12_345)
    invoice_item_create(
        customer=customer, params={"price": price, "invoice": invoice.pk}, now=APR1
    )
    return invoice_finalize(invoice=invoice, now=APR1)


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_drafts_have_no_links_and_finalizing_makes_them(api):
    customer = CustomerFactory(name="Jenny Rosen")
    created = api.post(
        "/v1/invoices", {"customer": customer.pk, "currency": "usd"}
    ).json()
    assert (created["hosted_invoice_url"], created["invoice_pdf"]) == (None, None)
    api.post(
        "/v1/invoiceitems",
        {
            "customer": customer.pk,
            "invoice": created["id"],
            "amount": 5_000,
            "currency": "usd",
        },
    )
    body = api.post(f"/v1/invoices/{created['id']}/finalize").json()
    token = Invoice.objects.get(pk=created["id"]).hosted_token
    assert len(token) >= 43  # 32 random bytes
    assert body["hosted_invoice_url"] == f"http://testserver/i/{token}/"
    assert body["invoice_pdf"] == f"http://testserver/i/{token}/pdf"
    again = api.get(f"/v1/invoices/{created['id']}").json()
    assert again["hosted_invoice_url"] == body["hosted_invoice_url"]


def test_the_public_base_url_setting_wins(api, settings):
    settings.TALLY_PUBLIC_URL = "https://billing.example.com"
    invoice = finalized()
    body = api.get(f"/v1/invoices/{invoice.pk}").json()
    assert body["invoice_pdf"] == (
        f"https://billing.example.com/i/{invoice.hosted_token}/pdf"
    )


def test_the_hosted_page_shows_the_invoice_and_links_its_pdf(db, client):
    invoice = finalized(name="Zoë Müller")
    page = client.get(f"/i/{invoice.hosted_token}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert invoice.number in html
    assert "Zoë Müller" in html
    assert "$123.45" in html
    assert f"/i/{invoice.hosted_token}/pdf?download=1" in html
    assert page["Cache-Control"] == "private, no-store"
    # Same-origin: the pay form's POST carries its Origin (CSRF check).
    assert page["Referrer-Policy"] == "same-origin"

    pdf = client.get(f"/i/{invoice.hosted_token}/pdf?download=1")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == (
        f'attachment; filename="Invoice-{invoice.number}.pdf"'
    )
    assert pdf.content.startswith(b"%PDF-")
    inline = client.get(f"/i/{invoice.hosted_token}/pdf")
    assert inline["Content-Disposition"].startswith("inline;")
    assert inline.content == pdf.content


@pytest.mark.parametrize(
    "token",
    ["nope", "x" * 43, "x" * 200, "in_123", "%00"],
)
def test_a_wrong_token_is_a_plain_404(db, client, token):
    finalized()
    for suffix in ("", "pdf"):
        response = client.get(f"/i/{token}/{suffix}")
        assert response.status_code == 404
        assert b"Jenny" not in response.content


def test_a_token_shows_its_own_invoice_only_whatever_the_mode(db, client):
    first = finalized(name="First Customer", prefix="FIRST")
    second = finalized(name="Second Customer", prefix="SECOND")
    Invoice.objects.filter(pk=second.pk).update(livemode=True)
    page = client.get(f"/i/{second.hosted_token}/").content.decode()
    assert "Second Customer" in page
    assert "SECOND-0001" in page
    assert "First Customer" not in page
    assert "FIRST-0001" not in page
    # Served while test mode is active, a live invoice's link still opens.
    with modes.scope(False):
        assert client.get(f"/i/{second.hosted_token}/pdf").status_code == 200
        assert client.get(f"/i/{first.hosted_token}/").status_code == 200


@pytest.mark.parametrize(("days", "status"), [(0, 200), (30, 404), (36_500, 200)])
def test_links_expire_after_the_days_set(db, client, settings, days, status):
    settings.TALLY_HOSTED_INVOICE_DAYS = days
    invoice = finalized()  # finalized Apr 1, 2026, no due date: long ago
    assert client.get(f"/i/{invoice.hosted_token}/").status_code == status
    assert client.get(f"/i/{invoice.hosted_token}/pdf").status_code == status


def test_a_draft_never_answers_even_with_a_token(db, client):
    customer = CustomerFactory()
    draft = invoice_create(customer=customer, params={}, now=APR1)
    Invoice.objects.filter(pk=draft.pk).update(hosted_token="draft-token-x")
    assert client.get("/i/draft-token-x/").status_code == 404


def test_the_backfill_gives_finalized_invoices_a_token(db):
    invoice = finalized()
    draft = invoice_create(customer=CustomerFactory(), params={}, now=APR1)
    Invoice.objects.filter(pk=invoice.pk).update(hosted_token=None)
    migration = importlib.import_module(
        "billing.migrations.0009_hosted_tokens_backfill"
    )
    migration.backfill(apps, None)
    invoice.refresh_from_db()
    draft.refresh_from_db()
    assert len(invoice.hosted_token) >= 43
    assert draft.hosted_token is None


def test_the_finalized_email_links_the_hosted_page(db, mailoutbox, settings):
    settings.TALLY_PUBLIC_URL = "https://billing.example.com"
    customer = CustomerFactory(name="Jenny Rosen", email="jenny@example.com")
    invoice = invoice_create(customer=customer, params={}, now=APR1)
    price = PriceFactory(one_time=True)
    invoice_item_create(
        customer=customer, params={"price": price, "invoice": invoice.pk}, now=APR1
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        invoice = invoice_finalize(invoice=invoice, now=APR1)
    link = f"https://billing.example.com/i/{invoice.hosted_token}/"
    (message,) = mailoutbox
    assert link in message.body
    assert link in message.alternatives[0][0]


@pytest.mark.django_db(transaction=True)
def test_the_stripe_sdk_reads_the_links_and_the_pdf_downloads(stripe_sdk):
    customer = stripe_sdk.Customer.create(name="Jenny Rosen")
    draft = stripe_sdk.Invoice.create(customer=customer.id, currency="usd")
    assert draft.invoice_pdf is None
    assert draft.hosted_invoice_url is None
    stripe_sdk.InvoiceItem.create(
        customer=customer.id, invoice=draft.id, amount=999, currency="usd"
    )
    invoice = stripe_sdk.Invoice.finalize_invoice(draft.id)
    assert invoice.hosted_invoice_url.startswith(stripe_sdk.api_base + "/i/")
    assert invoice.invoice_pdf == invoice.hosted_invoice_url + "pdf"
    response = requests.get(invoice.invoice_pdf, timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    page = requests.get(invoice.hosted_invoice_url, timeout=30)
    assert invoice.number in page.text
    assert path_of(invoice.invoice_pdf) in page.text
    assert Client().get(path_of(invoice.invoice_pdf)).status_code == 200


def test_staff_and_customer_pages_link_the_hosted_page_and_the_pdf(db, admin_client):
    invoice = finalized()
    hosted = f"/i/{invoice.hosted_token}/"
    staff = admin_client.get(
        f"/admin/billing/invoice/{quote(invoice.pk)}/change/"
    ).content.decode()
    assert f'href="{hosted}"' in staff
    assert f'href="{hosted}pdf?download=1"' in staff

    url = portal_session_create(customer=invoice.customer, now=clock.now()).url
    listing = Client().get(f"{url}invoices/").content.decode()
    assert f"{hosted}pdf?download=1" in listing
    page = Client().get(f"{url}invoices/{invoice.pk}/").content.decode()
    assert f'href="{hosted}pdf?download=1"' in page
    assert f'href="{hosted}"' in page
