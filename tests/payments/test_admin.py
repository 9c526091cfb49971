"""Staff pages: retries and dunning settings, recorded payments, bank statements."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from payments.models import (
    BankStatement,
    CollectionSettings,
    InvoicePayment,
    StatementLine,
)
from tests.billing.factories import CustomerFactory
from tests.payments.factories import customer_with_card, open_invoice

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model",
    [
        "paymentmethod",
        "paymentintent",
        "invoicepayment",
        "refund",
        "collectionsettings",
        "autotopup",
        "topup",
        "paidcredit",
        "bankstatement",
        "statementline",
    ],
)
def test_every_payments_page_opens(admin_client, model):
    customer_with_card()
    response = admin_client.get(reverse(f"admin:payments_{model}_changelist"))
    assert response.status_code == 200


def test_staff_set_the_retry_schedule_and_the_end_state(admin_client):
    url = reverse("admin:payments_collectionsettings_add")
    refused = admin_client.post(
        url,
        {"retry_days": "7, 3", "subscription_end": "canceled", "invoice_end": "open"},
    )
    assert refused.status_code == 200
    assert not CollectionSettings.objects.exists()
    saved = admin_client.post(
        url,
        {
            "retry_days": "2, 5, 9",
            "subscription_end": "canceled",
            "invoice_end": "uncollectible",
            "dunning_emails": "on",
        },
    )
    assert saved.status_code == 302
    row = CollectionSettings.objects.get()
    assert (row.retry_days, row.subscription_end, row.invoice_end) == (
        [2, 5, 9],
        "canceled",
        "uncollectible",
    )


def test_staff_record_part_of_an_invoice_paid_by_transfer(admin_client):
    invoice = open_invoice(
        CustomerFactory(),
        amount=10_000,
        collection_method="send_invoice",
        days_until_due=30,
    )
    url = reverse("admin:payments_invoicepayment_add")
    response = admin_client.post(
        url, {"invoice_ref": invoice.number, "received": "40.00", "reference": "wire"}
    )
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_remaining) == (
        "open",
        4_000,
        6_000,
    )
    too_much = admin_client.post(
        url, {"invoice_ref": invoice.number, "received": "60.01"}
    )
    assert too_much.status_code == 200
    assert "More than what remains due" in too_much.content.decode()
    invoice.refresh_from_db()
    assert invoice.amount_paid == 4_000
    assert InvoicePayment.objects.count() == 1


def test_staff_upload_a_statement_and_assign_the_unmatched_line(admin_client):
    invoice = open_invoice(
        CustomerFactory(),
        amount=10_000,
        collection_method="send_invoice",
        days_until_due=30,
    )
    csv_text = (
        f"date,amount,currency,reference\n2026-05-02,30.00,usd,{invoice.number}\n"
        "2026-05-02,70.00,usd,unknown transfer\n"
    )
    response = admin_client.post(
        reverse("admin:payments_bankstatement_add"),
        {"name": "May", "csv_file": SimpleUploadedFile("may.csv", csv_text.encode())},
    )
    assert response.status_code == 302
    statement = BankStatement.objects.get()
    unmatched = statement.lines.get(status="unmatched")
    page = admin_client.get(
        reverse("admin:payments_statementline_changelist"), {"status": "unmatched"}
    )
    assert "unknown transfer" in page.content.decode()
    admin_client.post(
        reverse("admin:payments_statementline_change", args=[unmatched.pk]),
        {"assign_to": invoice.number},
    )
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert StatementLine.objects.get(pk=unmatched.pk).status == "assigned"


def test_the_customer_page_shows_cards_and_attempts(admin_client):
    from django.contrib.admin.utils import quote

    from payments.services.collection import invoice_payment_attempt
    from tests.payments.factories import T0

    customer = customer_with_card("pm_card_chargeDeclinedInsufficientFunds")
    invoice = open_invoice(customer)
    invoice_payment_attempt(invoice_id=invoice.pk, number=1, now=T0)
    page = admin_client.get(
        reverse("admin:core_customer_change", args=[quote(customer.pk)])
    ).content.decode()
    assert "9995" in page
    assert "insufficient_funds" in page
