"""Charging invoices in test mode: success, declines, retries, the end of dunning,
authentication, idempotency per attempt, and a crash between charge and record."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from billing.models import Invoice, Subscription
from billing.services import subscription_create
from core.models import OutboundEmail
from payments.models import (
    CollectionSettings,
    InvoicePayment,
    PaymentAttempt,
    PaymentIntent,
    SimulatedCharge,
)
from payments.services import collection
from payments.services.collection import invoice_payment_attempt
from payments.services.due import invoices_collect_due, invoices_collection_start
from payments.services.payment_methods import customer_default_payment_method_set
from tests.billing.factories import PriceFactory
from tests.payments.factories import (
    T0,
    attach,
    customer_with_card,
    event_types,
    open_invoice,
)

pytestmark = pytest.mark.django_db


def _attempt(invoice, number=1, now=T0):
    return invoice_payment_attempt(invoice_id=invoice.pk, number=number, now=now)


def test_a_visa_pays_the_invoice_once_with_its_records():
    invoice = open_invoice(customer_with_card("pm_card_visa"), amount=12_345)
    attempt = _attempt(invoice)
    invoice.refresh_from_db()
    assert attempt.status == "succeeded"
    assert (invoice.status, invoice.amount_paid, invoice.amount_remaining) == (
        "paid",
        12_345,
        0,
    )
    assert invoice.attempt_count == 1
    assert invoice.paid_at == T0
    assert invoice.next_payment_attempt is None
    intent = PaymentIntent.objects.get(invoice=invoice)
    assert (intent.status, intent.amount_received) == ("succeeded", 12_345)
    payment = InvoicePayment.objects.get(invoice=invoice)
    assert (payment.status, payment.amount_paid, payment.is_default) == (
        "paid",
        12_345,
        True,
    )
    assert SimulatedCharge.objects.get().amount == 12_345
    types = event_types(invoice.pk)
    assert types.count("invoice.paid") == 1
    assert "invoice.payment_succeeded" in types
    # A rerun of the same attempt number does nothing more.
    assert _attempt(invoice) is None
    assert SimulatedCharge.objects.count() == 1
    assert event_types(invoice.pk).count("invoice.paid") == 1


@pytest.mark.parametrize(
    ("card", "decline_code"),
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ],
)
def test_a_decline_keeps_the_invoice_open_and_plans_a_retry(card, decline_code):
    customer = customer_with_card(card)
    invoice = open_invoice(customer)
    attempt = _attempt(invoice)
    invoice.refresh_from_db()
    assert attempt.status == "failed"
    assert (attempt.failure_code, attempt.decline_code) == (
        "card_declined",
        decline_code,
    )
    assert invoice.status == "open"
    assert (invoice.amount_paid, invoice.amount_remaining) == (0, 12_345)
    assert invoice.attempt_count == 1
    assert invoice.next_payment_attempt == T0 + timedelta(days=3)
    intent = PaymentIntent.objects.get(invoice=invoice)
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error["decline_code"] == decline_code
    assert "invoice.payment_failed" in event_types(invoice.pk)
    email = OutboundEmail.objects.get(subject__startswith="Payment failed")
    assert "/invoices/" + invoice.pk in email.text


def test_decline_then_success_on_the_retry_after_a_new_card():
    customer = customer_with_card("pm_card_chargeDeclined")
    invoice = open_invoice(customer)
    _attempt(invoice)
    # Nothing is due before the retry day.
    assert invoices_collect_due(now=T0 + timedelta(days=2)) == 0
    customer_default_payment_method_set(
        customer=customer, payment_method=attach(customer, "pm_card_visa")
    )
    assert invoices_collect_due(now=T0 + timedelta(days=3)) == 1
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert invoice.attempt_count == 2
    assert list(
        PaymentAttempt.objects.filter(invoice=invoice).values_list("status", flat=True)
    ) == ["failed", "succeeded"]
    # The Beat job run again, or twice at once, does nothing more.
    assert invoices_collect_due(now=T0 + timedelta(days=3)) == 0


def _subscription(customer):
    return subscription_create(
        customer=customer,
        params={
            "items": [{"price": PriceFactory(unit_amount_decimal=Decimal(5_000)).pk}]
        },
        now=T0,
    )


@pytest.mark.parametrize(
    ("subscription_end", "invoice_end", "sub_status", "invoice_status"),
    [
        ("unpaid", "open", "unpaid", "open"),
        ("canceled", "uncollectible", "canceled", "uncollectible"),
        ("past_due", "open", "past_due", "open"),
    ],
)
def test_all_retries_fail_then_the_configured_end_state(
    subscription_end, invoice_end, sub_status, invoice_status
):
    CollectionSettings.objects.create(
        retry_days=[3, 7, 14],
        subscription_end=subscription_end,
        invoice_end=invoice_end,
    )
    customer = customer_with_card("pm_card_chargeDeclined")
    sub = _subscription(customer)
    invoice = sub.latest_invoice
    invoices_collection_start(invoice_ids=[invoice.pk])
    assert invoices_collect_due(now=T0) == 1
    sub.refresh_from_db()
    assert sub.status == "past_due"
    for day in (3, 7, 14):
        assert invoices_collect_due(now=T0 + timedelta(days=day)) == 1
    invoice.refresh_from_db()
    sub.refresh_from_db()
    assert invoice.attempt_count == 4
    assert invoice.next_payment_attempt is None
    assert (sub.status, invoice.status) == (sub_status, invoice_status)
    assert event_types(invoice.pk).count("invoice.payment_failed") == 4
    assert invoices_collect_due(now=T0 + timedelta(days=60)) == 0
    if sub_status == "canceled":
        assert sub.cancellation_details["reason"] == "payment_failed"
        assert "invoice.marked_uncollectible" in event_types(invoice.pk)


def test_paying_the_past_due_invoice_brings_the_subscription_back():
    customer = customer_with_card("pm_card_chargeDeclined")
    sub = _subscription(customer)
    invoices_collection_start(invoice_ids=[sub.latest_invoice_id])
    invoices_collect_due(now=T0)
    sub.refresh_from_db()
    assert sub.status == "past_due"
    customer_default_payment_method_set(
        customer=customer, payment_method=attach(customer, "pm_card_visa")
    )
    invoices_collect_due(now=T0 + timedelta(days=3))
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ACTIVE
    assert Invoice.objects.get(pk=sub.latest_invoice_id).status == "paid"


def test_authentication_required_asks_for_the_customer():
    invoice = open_invoice(customer_with_card("pm_card_authenticationRequired"))
    attempt = _attempt(invoice)
    invoice.refresh_from_db()
    assert attempt.status == "requires_action"
    assert attempt.failure_code == "authentication_required"
    assert invoice.status == "open"
    assert PaymentIntent.objects.get(invoice=invoice).status == "requires_action"
    types = event_types(invoice.pk)
    assert "invoice.payment_action_required" in types
    assert "invoice.payment_failed" not in types
    assert OutboundEmail.objects.filter(subject__startswith="Action needed").exists()


def test_a_crash_between_charge_and_record_is_reconciled_without_a_second_charge(
    monkeypatch,
):
    invoice = open_invoice(customer_with_card("pm_card_visa"))
    real_record = collection._record

    def crash(*args, **kwargs):
        raise SystemExit("worker killed after the processor charged")

    monkeypatch.setattr(collection, "_record", crash)
    with pytest.raises(SystemExit):
        _attempt(invoice)
    # The processor charged; Tally recorded nothing but the pending attempt.
    assert SimulatedCharge.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.status == "open"
    assert PaymentAttempt.objects.get().status == "pending"
    monkeypatch.setattr(collection, "_record", real_record)
    # The next run (the stale sweep) reconciles by the idempotency key.
    invoices_collect_due(now=T0 + timedelta(minutes=10))
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert invoice.amount_paid == 12_345
    assert SimulatedCharge.objects.count() == 1
    assert PaymentAttempt.objects.get().status == "succeeded"
    assert event_types(invoice.pk).count("invoice.paid") == 1


def test_a_crash_before_the_charge_reached_the_processor_charges_once(monkeypatch):
    invoice = open_invoice(customer_with_card("pm_card_visa"))

    def lost(planned):
        raise SystemExit("worker killed before the processor answered")

    monkeypatch.setattr(collection, "_charge", lost)
    with pytest.raises(SystemExit):
        _attempt(invoice)
    monkeypatch.undo()
    assert SimulatedCharge.objects.count() == 0
    # A later attempt number is not started while attempt 1 is pending.
    assert invoice_payment_attempt(invoice_id=invoice.pk, now=T0).number == 1
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert SimulatedCharge.objects.count() == 1


def test_finalization_plans_collection_only_with_a_payment_method():
    with_card = open_invoice(customer_with_card("pm_card_visa"))
    without = open_invoice(customer_with_card("pm_card_visa"))
    customer_default_payment_method_set(customer=without.customer, payment_method=None)
    started = invoices_collection_start(invoice_ids=[with_card.pk, without.pk])
    assert started == [with_card.pk]
