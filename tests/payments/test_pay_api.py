"""``POST /v1/invoices/{id}/pay``: with a payment method, out of band, and refusals."""

from __future__ import annotations

import pytest

from billing.models import Invoice
from billing.services import invoice_create, invoice_void
from billing.services.settlement import invoice_lock, invoice_payment_apply
from core.errors import InvalidRequest
from payments.models import (
    PaymentAttempt,
    PaymentIntent,
    PaymentMethod,
    SimulatedCharge,
)
from payments.services.payment_methods import payment_method_detach
from tests.billing.factories import CustomerFactory
from tests.payments.factories import T0, attach, customer_with_card, open_invoice

pytestmark = pytest.mark.django_db


def _nothing_charged():
    assert PaymentAttempt.objects.count() == 0
    assert SimulatedCharge.objects.count() == 0
    assert PaymentIntent.objects.count() == 0


def test_pay_with_a_test_card_name(api):
    invoice = open_invoice(CustomerFactory(livemode=False))
    response = api.post(
        f"/v1/invoices/{invoice.pk}/pay", {"payment_method": "pm_card_visa"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "paid"
    assert (body["amount_paid"], body["amount_remaining"]) == (12_345, 0)
    assert body["attempted"] is True
    assert body["status_transitions"]["paid_at"] is not None
    payments = api.get("/v1/invoice_payments", {"invoice": invoice.pk}).json()["data"]
    assert payments[0]["status"] == "paid"
    assert payments[0]["payment"]["type"] == "payment_intent"
    intent = api.get(f"/v1/payment_intents/{payments[0]['payment']['payment_intent']}")
    assert intent.json()["status"] == "succeeded"
    # The card used is kept on the customer (Stripe attaches it too).
    assert PaymentMethod.objects.get().customer_id == invoice.customer_id


def test_a_declined_card_answers_402_and_records_the_attempt(api):
    invoice = open_invoice(CustomerFactory())
    response = api.post(
        f"/v1/invoices/{invoice.pk}/pay",
        {"payment_method": "pm_card_chargeDeclinedInsufficientFunds"},
    )
    assert response.status_code == 402, response.content
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("card_error", "card_declined")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.attempt_count) == ("open", 1)
    assert PaymentAttempt.objects.get().decline_code == "insufficient_funds"


def test_authentication_required_on_session_answers_402_requires_action(api):
    invoice = open_invoice(CustomerFactory())
    response = api.post(
        f"/v1/invoices/{invoice.pk}/pay",
        {"payment_method": "pm_card_authenticationRequired", "off_session": "false"},
    )
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "invoice_payment_intent_requires_action"
    intent = PaymentIntent.objects.get()
    assert intent.status == "requires_action"


def test_paying_a_draft_is_refused_with_nothing_written(api):
    customer = CustomerFactory()
    draft = invoice_create(customer=customer, params={"currency": "usd"}, now=T0)
    response = api.post(
        f"/v1/invoices/{draft.pk}/pay", {"payment_method": "pm_card_visa"}
    )
    assert response.status_code == 400
    assert Invoice.objects.get(pk=draft.pk).status == "draft"
    assert PaymentMethod.objects.count() == 0
    _nothing_charged()


def test_paying_a_void_or_paid_invoice_is_refused(api):
    void = open_invoice(customer_with_card())
    invoice_void(invoice=void, now=T0)
    response = api.post(
        f"/v1/invoices/{void.pk}/pay", {"payment_method": "pm_card_visa"}
    )
    assert response.status_code == 400
    paid = open_invoice(customer_with_card())
    assert api.post(f"/v1/invoices/{paid.pk}/pay").status_code == 200
    again = api.post(f"/v1/invoices/{paid.pk}/pay")
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "invoice_already_paid"
    assert SimulatedCharge.objects.count() == 1


def test_unknown_detached_or_foreign_methods_are_refused(api):
    customer = customer_with_card()
    invoice = open_invoice(customer)
    unknown = api.post(f"/v1/invoices/{invoice.pk}/pay", {"payment_method": "pm_nope"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["param"] == "payment_method"
    spare = attach(customer, "pm_card_mastercard")
    payment_method_detach(payment_method=spare)
    detached = api.post(f"/v1/invoices/{invoice.pk}/pay", {"payment_method": spare.pk})
    assert detached.status_code == 400
    foreign = attach(CustomerFactory(), "pm_card_visa")
    response = api.post(
        f"/v1/invoices/{invoice.pk}/pay", {"payment_method": foreign.pk}
    )
    assert response.status_code == 400
    _nothing_charged()
    invoice.refresh_from_db()
    assert (invoice.status, invoice.attempt_count) == ("open", 0)


def test_no_payment_method_at_all_is_refused(api):
    invoice = open_invoice(CustomerFactory())
    response = api.post(f"/v1/invoices/{invoice.pk}/pay")
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "missing"
    _nothing_charged()


def test_paid_out_of_band_still_records_a_payment_made_elsewhere(api):
    invoice = open_invoice(CustomerFactory())
    body = api.post(f"/v1/invoices/{invoice.pk}/pay", {"paid_out_of_band": True}).json()
    assert body["status"] == "paid"
    assert body["amount_paid"] == 12_345
    _nothing_charged()


def test_an_amount_above_what_is_due_is_refused():
    invoice = open_invoice(CustomerFactory(), amount=1_000)
    with pytest.raises(InvalidRequest) as caught:
        invoice_payment_apply(invoice=invoice_lock(invoice.pk), amount=1_001, now=T0)
    assert caught.value.code == "amount_too_large"
    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.amount_remaining) == (0, 1_000)


def test_a_partial_payment_leaves_the_invoice_open_then_pays_it():
    invoice = open_invoice(CustomerFactory(), amount=1_000)
    invoice = invoice_payment_apply(
        invoice=invoice_lock(invoice.pk), amount=400, now=T0
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_remaining) == (
        "open",
        400,
        600,
    )
    invoice_payment_apply(invoice=invoice_lock(invoice.pk), amount=600, now=T0)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_remaining) == (
        "paid",
        1_000,
        0,
    )
