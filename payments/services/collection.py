"""Charging invoices: one attempt at a time, at most one success per invoice.

An attempt runs in three steps (the locking policy of ``billing.services.
finalize`` applies: subscription → invoice):

1. plan — in a transaction with the invoice locked: the attempt row, unique per
   (invoice, number) and per idempotency key, is written ``pending``;
2. charge — outside any transaction: the processor is called with that key;
3. record — in a transaction with the invoice locked again: the outcome moves
   the money states (attempt, PaymentIntent, InvoicePayment, invoice).

A second worker, or a rerun after a crash between 2 and 3, finds the pending
attempt in step 1 and reconciles it with the processor by its key (lookup first,
then the same keyed charge, which a processor never performs twice) instead of
starting another. So at most one charge is in flight per invoice, and the
database keeps at most one succeeded attempt per invoice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from billing.models import Invoice
from billing.services.settlement import (
    invoice_check_payable,
    invoice_lock,
    invoice_payment_apply,
)
from core.errors import ApiError, InvalidRequest, PaymentRequired
from core.services.events import event_emit
from payments.models import InvoicePayment, PaymentAttempt, PaymentIntent
from payments.processors import processor_for, processor_named
from payments.processors.base import ChargeRequest, ChargeResult, ProcessorError
from payments.services import dunning
from payments.services.defaults import invoice_payment_method

logger = logging.getLogger(__name__)

NO_METHOD = "This customer has no attached payment source or default payment method."


@dataclass(frozen=True)
class _Planned:
    attempt: PaymentAttempt
    reconcile: bool


def attempt_key(invoice_id: str, number: int) -> str:
    """The processor's idempotency key of an invoice's ``number``-th attempt."""
    return f"tally_{invoice_id}_attempt_{number}"


def invoice_payment_attempt(
    *,
    invoice_id: str,
    now: datetime,
    number: int | None = None,
    payment_method=None,
    off_session: bool = True,
    strict: bool = False,
) -> PaymentAttempt | None:
    """Charge the invoice once (attempt ``number``, or the next one).

    Jobs pass ``number``: an attempt already made is not made again. ``strict``
    (the API) raises when the invoice cannot be paid. Returns the attempt worked
    on, or None when there was nothing to do.
    """
    planned = _plan(invoice_id, number, payment_method, off_session, strict, now)
    if planned is None:
        return None
    result = _charge(planned)
    if result is None:
        return planned.attempt  # stays pending: reconciled by the next run
    return _record(planned.attempt.pk, result, now)


@transaction.atomic
def _plan(invoice_id, number, payment_method, off_session, strict, now):
    invoice = invoice_lock(invoice_id)
    pending = PaymentAttempt.objects.filter(
        invoice=invoice, status=PaymentAttempt.Status.PENDING
    ).first()
    if pending is not None:
        return _Planned(pending, reconcile=True)
    if strict:
        invoice_check_payable(invoice)
    elif invoice.status not in ("open", "uncollectible"):
        return None
    if invoice.amount_remaining <= 0:
        return None
    if number is None:
        number = invoice.attempt_count + 1
    elif number != invoice.attempt_count + 1:
        return None  # made already, or overtaken by a later attempt
    method = payment_method or invoice_payment_method(invoice)
    attempt = PaymentAttempt.objects.create(
        invoice=invoice,
        number=number,
        payment_intent=_intent_for(invoice, now),
        payment_method=method,
        amount=invoice.amount_remaining,
        currency=invoice.currency,
        off_session=off_session,
        idempotency_key=attempt_key(invoice.pk, number),
        processor=method.processor
        if method
        else processor_for(livemode=invoice.livemode).name,
        created=now,
        livemode=invoice.livemode,
    )
    invoice.attempt_count = number
    invoice.next_payment_attempt = None
    invoice.save(update_fields=["attempt_count", "next_payment_attempt"])
    return _Planned(attempt, reconcile=False)


def _intent_for(invoice: Invoice, now: datetime) -> PaymentIntent:
    """The invoice's PaymentIntent and default InvoicePayment (made once)."""
    intent = PaymentIntent.objects.filter(invoice=invoice).first()
    if intent is not None:
        if intent.amount != invoice.amount_remaining:
            intent.amount = invoice.amount_remaining
            intent.save(update_fields=["amount"])
        return intent
    intent = PaymentIntent.objects.create(
        customer_id=invoice.customer_id,
        invoice=invoice,
        amount=invoice.amount_remaining,
        currency=invoice.currency,
        description=f"Invoice {invoice.number or invoice.pk}",
        created=now,
        livemode=invoice.livemode,
    )
    InvoicePayment.objects.create(
        invoice=invoice,
        payment_intent=intent,
        amount_requested=invoice.amount_remaining,
        currency=invoice.currency,
        is_default=True,
        created=now,
        livemode=invoice.livemode,
    )
    return intent


def _charge(planned: _Planned) -> ChargeResult | None:
    attempt = planned.attempt
    processor = processor_named(attempt.processor)
    try:
        if planned.reconcile:
            found = processor.charge_lookup(attempt.idempotency_key)
            if found is not None:
                return found
        if attempt.payment_method is None:
            return ChargeResult(
                status="failed", failure_code="missing", message=NO_METHOD
            )
        return processor.charge(
            ChargeRequest(
                amount=attempt.amount,
                currency=attempt.currency,
                payment_method=attempt.payment_method.processor_reference,
                customer=attempt.payment_intent.customer_id,
                idempotency_key=attempt.idempotency_key,
                off_session=attempt.off_session,
                description=attempt.payment_intent.description or "",
                processor_customer=attempt.payment_method.processor_customer,
            )
        )
    except ProcessorError:
        logger.exception("processor error on %s", attempt.idempotency_key)
        return None


@transaction.atomic
def _record(attempt_id: int, result: ChargeResult, now: datetime) -> PaymentAttempt:
    attempt = PaymentAttempt.objects.select_related("payment_intent").get(pk=attempt_id)
    invoice = invoice_lock(attempt.invoice_id)
    attempt = (
        PaymentAttempt.objects.select_for_update(of=("self",))
        .select_related("payment_intent", "payment_method")
        .get(pk=attempt_id)
    )
    if attempt.status != PaymentAttempt.Status.PENDING:
        return attempt  # another worker recorded it
    if result.status == "processing":
        PaymentIntent.objects.filter(pk=attempt.payment_intent_id).update(
            status=PaymentIntent.Status.PROCESSING
        )
        return attempt
    attempt.charge_reference = result.reference
    attempt.finished_at = now
    if result.status == "succeeded":
        _succeeded(invoice, attempt, result, now)
    else:
        _failed(invoice, attempt, result, now)
    return attempt


def payment_attempt_record(
    *, attempt_id: int, result: ChargeResult, now: datetime
) -> PaymentAttempt:
    """Record what the processor said of a pending attempt (its webhooks)."""
    return _record(attempt_id, result, now)


def _succeeded(invoice, attempt, result: ChargeResult, now: datetime) -> None:
    attempt.status = PaymentAttempt.Status.SUCCEEDED
    attempt.save()
    intent = attempt.payment_intent
    intent.status = PaymentIntent.Status.SUCCEEDED
    intent.amount_received += result.amount_received or attempt.amount
    intent.latest_charge = result.reference
    intent.payment_method = attempt.payment_method
    intent.last_payment_error = None
    intent.save()
    received = result.amount_received or attempt.amount
    InvoicePayment.objects.filter(invoice=invoice, is_default=True).update(
        status=InvoicePayment.Status.PAID, amount_paid=received, paid_at=now
    )
    payable = invoice.status in ("open", "uncollectible")
    applied = min(received, invoice.amount_remaining) if payable else 0
    if applied:
        invoice_payment_apply(invoice=invoice, amount=applied, now=now)
    event_emit(type="payment_intent.succeeded", instance=intent)
    event_emit(type="invoice.payment_succeeded", instance=invoice)
    if received > applied:
        # Paid meanwhile another way (out of band, voided): give the excess back.
        from payments.services.refunds import payment_refund

        excess = received - applied
        transaction.on_commit(
            lambda: payment_refund(
                payment_intent=intent, amount=excess, reason="duplicate", now=now
            )
        )


def _failed(invoice, attempt, result: ChargeResult, now: datetime) -> None:
    needs_action = result.status == "requires_action" and not attempt.off_session
    attempt.status = (
        PaymentAttempt.Status.REQUIRES_ACTION
        if result.status == "requires_action"
        else PaymentAttempt.Status.FAILED
    )
    attempt.failure_code = result.failure_code
    attempt.decline_code = result.decline_code
    attempt.failure_message = result.message
    attempt.save()
    intent = attempt.payment_intent
    intent.status = (
        PaymentIntent.Status.REQUIRES_ACTION
        if result.status == "requires_action"
        else PaymentIntent.Status.REQUIRES_PAYMENT_METHOD
    )
    intent.payment_method = attempt.payment_method
    intent.last_payment_error = {
        "type": "card_error",
        "code": result.failure_code,
        "decline_code": result.decline_code,
        "message": result.message,
        "payment_method": attempt.payment_method_id,
        "charge": result.reference,
        "param": None,
    }
    intent.save()
    dunning.invoice_payment_failed(
        invoice=invoice, attempt=attempt, needs_action=needs_action, now=now
    )


def invoice_pay(
    *,
    invoice,
    payment_method: str | None,
    off_session,
    now: datetime,
    number: int | None = None,
):
    """``POST /v1/invoices/{id}/pay`` (billing's collector): charge it now.

    Bad input is refused before anything is written; a decline is recorded (an
    attempt, events) and then reported as Stripe does, 402 ``card_error``.
    ``number`` (pages): make only that attempt, not one after another's.
    """
    from payments.services.payment_methods import payment_method_for_customer

    if invoice.is_draft:
        raise InvalidRequest(
            "This invoice is a draft: finalize it before paying it.",
            code="invoice_not_open",
        )
    invoice_check_payable(invoice)
    method = None
    if payment_method:
        method = payment_method_for_customer(
            customer=invoice.customer, payment_method_id=payment_method
        )
    elif invoice_payment_method(invoice) is None:
        # 402 as before collection existed: nothing to charge the invoice to.
        raise PaymentRequired(NO_METHOD, code="missing", param="payment_method")
    attempt = invoice_payment_attempt(
        invoice_id=invoice.pk,
        now=now,
        number=number,
        payment_method=method,
        off_session=bool(off_session),
        strict=True,
    )
    invoice = Invoice.objects.select_related("customer", "subscription").get(
        pk=invoice.pk
    )
    if attempt is not None and attempt.status in ("failed", "requires_action"):
        _raise_declined(attempt)
    if attempt is not None and attempt.status == "pending":
        attempt.payment_intent.refresh_from_db()
        if attempt.payment_intent.status != PaymentIntent.Status.PROCESSING:
            raise ApiError(
                "The payment processor could not be reached; the payment will be "
                "checked with it before any new attempt.",
                http_status=502,
            )
    return invoice


def _raise_declined(attempt: PaymentAttempt) -> None:
    if attempt.status == PaymentAttempt.Status.REQUIRES_ACTION:
        raise PaymentRequired(
            attempt.failure_message or "This payment requires authentication.",
            code="invoice_payment_intent_requires_action",
        )
    raise PaymentRequired(
        attempt.failure_message or "Your card was declined.",
        code=attempt.failure_code or "card_declined",
    )
