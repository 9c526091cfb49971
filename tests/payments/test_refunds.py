"""Refunds of credit notes' ``refund_amount`` through the processor (test mode:
the simulator): Stripe's shapes, refusals with nothing written, once per note
even when asked twice or after a crash."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import TestCase

from billing.models import CreditNote
from billing.services.credit_notes import credit_note_create, credit_note_void
from core.errors import InvalidRequest, InvalidState
from core.models import Event
from payments.models import PaymentIntent, Refund, SimulatedCharge, SimulatedRefund
from payments.processors.base import ProcessorError
from payments.processors.simulator import Simulator
from payments.services import refunds
from payments.services.collection import invoice_payment_attempt
from payments.services.due import invoices_collect_due
from payments.services.receivables import invoice_payment_record
from tests.payments.factories import T0, customer_with_card, open_invoice

pytestmark = pytest.mark.django_db


def paid_by_card(amount: int = 10_000, *, recorded: int = 0):
    """An invoice of ``amount`` cents: ``recorded`` by bank transfer, the rest by
    the customer's visa."""
    invoice = open_invoice(customer_with_card(), amount=amount)
    if recorded:
        invoice_payment_record(invoice=invoice, amount=recorded, now=T0)
    attempt = invoice_payment_attempt(invoice_id=invoice.pk, number=1, now=T0)
    assert attempt.status == "succeeded"
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    return invoice


def note(invoice, **params) -> CreditNote:
    """Issue a credit note; what runs after its commit (the refund) runs too."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return credit_note_create(invoice=invoice, params=params, now=T0)


def intent_of(invoice) -> PaymentIntent:
    return PaymentIntent.objects.get(invoice=invoice)


def test_a_refund_amount_is_refunded_through_the_processor(api):
    invoice = paid_by_card(10_000)
    response = api.post(
        "/v1/credit_notes",
        {"invoice": invoice.pk, "amount": 2_550, "refund_amount": 2_550},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    refund = Refund.objects.get()
    assert body["refunds"] == [
        {
            "amount_refunded": 2_550,
            "payment_record_refund": None,
            "refund": refund.pk,
            "type": "refund",
        }
    ]
    assert (refund.status, refund.amount, refund.credit_note_id) == (
        "succeeded",
        2_550,
        body["id"],
    )
    assert refund.idempotency_key == f"tally_{body['id']}_refund"
    charge = SimulatedCharge.objects.get(status="succeeded")
    assert charge.amount_refunded == 2_550
    assert SimulatedRefund.objects.get().pk == refund.processor_reference
    assert intent_of(invoice).amount_refunded == 2_550
    shown = api.get(f"/v1/refunds/{refund.pk}").json()
    assert shown["object"] == "refund"
    assert (shown["amount"], shown["status"], shown["payment_intent"]) == (
        2_550,
        "succeeded",
        intent_of(invoice).pk,
    )
    assert shown["charge"] == charge.pk
    expanded = api.get(
        f"/v1/credit_notes/{body['id']}", {"expand": ["refunds.refund"]}
    ).json()
    assert expanded["refunds"][0]["refund"]["id"] == refund.pk
    assert expanded["refunds"][0]["refund"]["status"] == "succeeded"
    assert Event.objects.filter(type="refund.created", object_id=refund.pk).count() == 1


def test_a_credit_note_with_a_refund_cannot_be_voided():
    invoice = paid_by_card(10_000)
    refunded = note(invoice, amount=1_000, refund_amount=600, credit_amount=400)
    assert refunded.refunds[0]["amount_refunded"] == 600
    with pytest.raises(InvalidState):
        credit_note_void(credit_note=refunded, now=T0)


def test_more_than_the_processor_took_is_refused_with_nothing_written():
    # 7,000 came by bank transfer, 3,000 by card: only the card's part goes back
    # through the processor.
    invoice = paid_by_card(10_000, recorded=7_000)
    with pytest.raises(InvalidRequest) as info:
        note(invoice, amount=3_001, refund_amount=3_001)
    assert info.value.param == "refund_amount"
    assert "through the payment processor (3000)" in info.value.message
    assert not CreditNote.objects.exists()
    assert not Refund.objects.exists()
    assert intent_of(invoice).amount_refunded == 0
    done = note(invoice, amount=3_001, refund_amount=3_000, out_of_band_amount=1)
    assert Refund.objects.get(credit_note=done).amount == 3_000
    with pytest.raises(InvalidRequest):
        note(invoice, amount=1, refund_amount=1)
    assert Refund.objects.count() == 1


def test_notes_refund_until_the_card_payment_is_used_up():
    invoice = paid_by_card(10_000)
    note(invoice, amount=6_000, refund_amount=6_000)
    note(invoice, amount=4_000, refund_amount=4_000)
    assert intent_of(invoice).amount_refunded == 10_000
    assert SimulatedCharge.objects.get(status="succeeded").amount_refunded == 10_000
    with pytest.raises(InvalidRequest):
        note(invoice, amount=1, refund_amount=1)
    assert Refund.objects.count() == 2


def test_the_api_replays_a_credit_note_with_its_key_and_refunds_once(api):
    invoice = paid_by_card(10_000)
    params = {"invoice": invoice.pk, "amount": 500, "refund_amount": 500}
    headers = {"Idempotency-Key": "cn-refund-1"}
    first = api.post("/v1/credit_notes", params, headers=headers)
    again = api.post("/v1/credit_notes", params, headers=headers)
    assert first.json() == again.json()
    assert CreditNote.objects.count() == Refund.objects.count() == 1
    assert SimulatedRefund.objects.count() == 1


def test_an_unreachable_processor_leaves_the_refund_pending_for_the_beat_job(
    monkeypatch,
):
    invoice = paid_by_card(10_000)

    def down(self, **kwargs):
        raise ProcessorError("connection refused")

    monkeypatch.setattr(Simulator, "refund", down)
    made = note(invoice, amount=1_500, refund_amount=1_500)
    refund = Refund.objects.get(credit_note=made)
    assert (refund.status, refund.processor_reference) == ("pending", None)
    assert intent_of(invoice).amount_refunded == 1_500  # reserved meanwhile
    monkeypatch.undo()
    invoices_collect_due(now=T0 + timedelta(minutes=1))  # too soon: a worker's
    assert Refund.objects.get().status == "pending"
    invoices_collect_due(now=T0 + timedelta(minutes=6))
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert SimulatedRefund.objects.count() == 1


def test_a_crash_between_the_refund_and_its_record_refunds_once(monkeypatch):
    invoice = paid_by_card(10_000)
    real = refunds.refund_record

    def crash(**kwargs):
        raise RuntimeError("worker killed after the processor refunded")

    monkeypatch.setattr(refunds, "refund_record", crash)
    made = note(invoice, amount=2_000, refund_amount=2_000)
    assert SimulatedRefund.objects.count() == 1  # the processor did refund
    assert Refund.objects.get(credit_note=made).status == "pending"
    monkeypatch.setattr(refunds, "refund_record", real)
    for _ in range(2):  # a rerun, or a second worker, asks nothing more
        invoices_collect_due(now=T0 + timedelta(minutes=10))
    refund = Refund.objects.get(credit_note=made)
    assert refund.status == "succeeded"
    assert SimulatedRefund.objects.count() == 1
    assert SimulatedCharge.objects.get(status="succeeded").amount_refunded == 2_000
    assert intent_of(invoice).amount_refunded == 2_000
    assert Event.objects.filter(type="refund.created").count() == 1


def test_a_refund_the_processor_refuses_gives_the_reservation_back():
    invoice = paid_by_card(10_000)
    # The processor's books disagree: the charge was refunded there already.
    SimulatedCharge.objects.filter(status="succeeded").update(amount_refunded=10_000)
    made = note(invoice, amount=1_000, refund_amount=1_000)
    refund = Refund.objects.get(credit_note=made)
    assert refund.status == "failed"
    assert made.refunds[0]["refund"] == refund.pk
    assert intent_of(invoice).amount_refunded == 0
    types = list(
        Event.objects.filter(object_id=refund.pk).values_list("type", flat=True)
    )
    assert sorted(types) == ["refund.created", "refund.failed"]


def test_the_refunds_api_and_the_simulator_answer_a_key_once():
    invoice = paid_by_card(10_000)
    refund = refunds.payment_refund(
        payment_intent=intent_of(invoice), amount=100, now=T0
    )
    assert refund.idempotency_key == f"tally_{intent_of(invoice).pk}_refund_1"
    simulator = Simulator()
    charge = SimulatedCharge.objects.get(status="succeeded").pk
    again = simulator.refund(
        charge=charge, amount=100, idempotency_key=refund.idempotency_key
    )
    assert again.reference == refund.processor_reference
    assert SimulatedCharge.objects.get(pk=charge).amount_refunded == 100
    with pytest.raises(InvalidRequest):
        refunds.payment_refund(payment_intent=intent_of(invoice), amount=9_901, now=T0)


def test_the_refunds_api_refuses_more_than_is_left_with_nothing_written(api):
    invoice = paid_by_card(10_000)
    intent = intent_of(invoice)
    made = api.post("/v1/refunds", {"payment_intent": intent.pk, "amount": 9_000})
    assert made.status_code == 200, made.content
    assert (made.json()["status"], made.json()["amount"]) == ("succeeded", 9_000)
    too_much = api.post("/v1/refunds", {"payment_intent": intent.pk, "amount": 1_001})
    assert too_much.status_code == 400
    assert too_much.json()["error"]["param"] == "amount"
    unknown = api.post("/v1/refunds", {"payment_intent": "pi_nope", "amount": 1})
    assert unknown.status_code == 404
    assert Refund.objects.count() == 1
    assert intent_of(invoice).amount_refunded == 9_000
    assert SimulatedCharge.objects.get(status="succeeded").amount_refunded == 9_000


@pytest.mark.django_db(transaction=True)
def test_two_credit_notes_racing_never_refund_more_than_the_card_paid(
    no_auto_collection,
):
    from tests.payments.test_concurrency import _race

    invoice = paid_by_card(10_000)
    outcomes: list[str] = []

    def issue():
        try:
            credit_note_create(
                invoice=invoice,
                params={"amount": 6_000, "refund_amount": 6_000},
                now=T0,
            )
            outcomes.append("issued")
        except InvalidRequest:
            outcomes.append("refused")

    assert _race(issue) == []
    assert sorted(outcomes) == ["issued", "refused"]
    refund = Refund.objects.get()
    assert refund.status == "succeeded"  # asked after its note committed
    assert intent_of(invoice).amount_refunded == 6_000
    assert SimulatedRefund.objects.count() == 1
    assert SimulatedCharge.objects.get(status="succeeded").amount_refunded == 6_000
