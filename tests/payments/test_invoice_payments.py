"""``invoice.payments`` (Stripe's includable list of InvoicePayment objects) and
``/v1/invoice_payments``: over HTTP and through the official SDK."""

from __future__ import annotations

from datetime import timedelta

import pytest

from billing.services import invoice_create, invoice_finalize, invoice_item_create
from core.models import Customer
from payments.services.collection import invoice_payment_attempt
from payments.services.receivables import invoice_payment_record
from tests.billing.factories import CustomerFactory
from tests.payments.factories import T0, customer_with_card, open_invoice

HOUR = timedelta(hours=1)


def part_wired_part_card():
    """10,000 cents: 7,000 wired (recorded), then 3,000 charged to the visa."""
    invoice = open_invoice(customer_with_card(), amount=10_000)
    record = invoice_payment_record(
        invoice=invoice, amount=7_000, now=T0, reference="wire 7"
    )
    attempt = invoice_payment_attempt(invoice_id=invoice.pk, number=1, now=T0 + HOUR)
    assert attempt.status == "succeeded"
    return invoice, record


@pytest.mark.django_db
def test_expanding_payments_lists_each_payment_of_the_invoice(api):
    invoice, record = part_wired_part_card()
    assert "payments" not in api.get(f"/v1/invoices/{invoice.pk}").json()
    body = api.get(f"/v1/invoices/{invoice.pk}", {"expand": ["payments"]}).json()
    payments = body["payments"]
    assert payments["object"] == "list"
    assert payments["has_more"] is False
    assert payments["url"] == f"/v1/invoice_payments?invoice={invoice.pk}"
    card, wire = payments["data"]  # newest first
    assert card["object"] == "invoice_payment"
    assert (card["is_default"], card["status"], card["amount_paid"]) == (
        True,
        "paid",
        3_000,
    )
    assert card["payment"]["type"] == "payment_intent"
    assert card["invoice"] == invoice.pk
    assert wire["payment"] == {
        "type": "payment_record",
        "payment_record": record.payment_record,
    }
    assert (wire["is_default"], wire["amount_paid"]) == (False, 7_000)
    assert body["amount_paid"] == card["amount_paid"] + wire["amount_paid"] == 10_000

    deep = api.get(
        f"/v1/invoices/{invoice.pk}",
        {"expand": ["payments.data.payment.payment_intent"]},
    ).json()
    intent = deep["payments"]["data"][0]["payment"]["payment_intent"]
    assert (intent["object"], intent["amount_received"]) == ("payment_intent", 3_000)
    listed = api.get(
        "/v1/invoices", {"customer": invoice.customer_id, "expand": ["data.payments"]}
    ).json()
    assert len(listed["data"][0]["payments"]["data"]) == 2

    records = api.get(
        "/v1/invoice_payments",
        {"invoice": invoice.pk, "payment": {"type": "payment_record"}},
    ).json()["data"]
    assert [row["id"] for row in records] == [wire["id"]]
    by_intent = api.get(
        "/v1/invoice_payments",
        {"payment": {"type": "payment_intent", "payment_intent": intent["id"]}},
    ).json()["data"]
    assert [row["id"] for row in by_intent] == [card["id"]]
    assert api.get(f"/v1/invoice_payments/{wire['id']}").json() == wire


@pytest.mark.django_db
def test_a_handful_of_payments_is_included_the_rest_is_behind_the_url(api):
    customer = CustomerFactory()
    invoice = invoice_create(
        customer=customer,
        params={"collection_method": "send_invoice", "days_until_due": 30},
        now=T0,
    )
    invoice_item_create(
        customer=customer,
        params={"amount": 1_200, "currency": "usd", "invoice": invoice.pk},
        now=T0,
    )
    invoice.refresh_from_db()
    invoice = invoice_finalize(invoice=invoice, now=T0)
    for n in range(12):
        invoice_payment_record(invoice=invoice, amount=100, now=T0 + n * HOUR)
    body = api.get(f"/v1/invoices/{invoice.pk}", {"expand": ["payments"]}).json()
    assert body["status"] == "paid"
    assert len(body["payments"]["data"]) == 10
    assert body["payments"]["has_more"] is True
    page = api.get("/v1/invoice_payments", {"invoice": invoice.pk, "limit": 100})
    assert len(page.json()["data"]) == 12


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/v1/invoices/{id}", {"expand": ["payments.data.nope"]}, 400),
        ("/v1/invoices/{id}", {"expand": ["payments.data.payment.charge"]}, 400),
        ("/v1/invoice_payments", {"payment": {"type": "charge"}}, 400),
        ("/v1/invoice_payments", {"payment": {"payment_intent": "pi_1"}}, 400),
        (
            "/v1/invoice_payments",
            {"payment": {"type": "payment_intent", "bogus": "x"}},
            400,
        ),
        ("/v1/invoice_payments/inpay_nope", {}, 404),
    ],
)
def test_bad_expansions_and_filters_are_refused(api, path, params, status):
    invoice, _ = part_wired_part_card()
    response = api.get(path.format(id=invoice.pk), params)
    assert response.status_code == status, response.content
    assert set(response.json()["error"]) >= {"type", "message"}


def test_the_sdk_expands_invoice_payments_and_credit_note_refunds(stripe_sdk):
    stripe = stripe_sdk
    customer = stripe.Customer.create(name="Jenny Rosen", email="jenny@example.com")
    invoice = open_invoice(Customer.objects.get(pk=customer.id), amount=4_200)
    stripe.Invoice.pay(invoice.pk, payment_method="pm_card_visa")

    got = stripe.Invoice.retrieve(
        invoice.pk, expand=["payments.data.payment.payment_intent"]
    )
    payment = got.payments.data[0]
    assert isinstance(payment, stripe.InvoicePayment)
    assert payment.payment.type == "payment_intent"
    assert isinstance(payment.payment.payment_intent, stripe.PaymentIntent)
    assert payment.payment.payment_intent.status == "succeeded"
    listed = stripe.InvoicePayment.list(
        invoice=invoice.pk, payment={"type": "payment_intent"}
    )
    again = stripe.InvoicePayment.retrieve(listed.data[0].id)
    assert (again.amount_paid, again.invoice, again.status) == (
        4_200,
        invoice.pk,
        "paid",
    )

    note = stripe.CreditNote.create(
        invoice=invoice.pk, amount=1_200, refund_amount=1_200, reason="duplicate"
    )
    assert note.refunds[0].amount_refunded == 1_200
    assert note.refunds[0].type == "refund"
    shown = stripe.CreditNote.retrieve(note.id, expand=["refunds.refund"])
    refund = shown.refunds[0].refund
    assert isinstance(refund, stripe.Refund)
    assert (refund.amount, refund.status, refund.reason) == (
        1_200,
        "succeeded",
        "duplicate",
    )
    assert stripe.Refund.list(payment_intent=refund.payment_intent).data[0].id == (
        refund.id
    )
