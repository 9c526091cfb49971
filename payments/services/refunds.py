"""Refunds through the processor that took the payment.

A refund runs in three steps, as a charge does (``collection``):

1. plan — in a transaction with the PaymentIntent locked: the amount is checked
   against what is left to refund, reserved on the intent (``amount_refunded``)
   and the refund written ``pending`` with its idempotency key (derived from the
   credit note, or from the intent and the refund's number);
2. ask — outside any transaction: the processor refunds under that key, which it
   never does twice;
3. record — the outcome, with ``refund.created``; a refusal releases the
   reservation and emits ``refund.failed``.

A crash between 1 and 3 leaves the refund pending with no processor reference:
the Beat job (``refunds_pending_retry``) asks again, with the same key.

Locking order: invoice (credit notes hold it) → PaymentIntent → refund.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F

from core.errors import InvalidRequest
from core.services.events import event_emit
from payments.models import PaymentAttempt, PaymentIntent, Refund
from payments.processors import processor_named
from payments.processors.base import ProcessorError, RefundResult

logger = logging.getLogger(__name__)

# A pending refund younger than this may still be in its worker's hands.
STALE_PENDING = timedelta(minutes=5)
# Credit note reasons that are refund reasons too (Stripe's refund.reason).
_REASONS = {"duplicate": "duplicate", "fraudulent": "fraudulent"}


def _refund_plan(
    *,
    intent: PaymentIntent,
    amount: int | None,
    reason: str | None,
    now: datetime,
    credit_note=None,
) -> Refund:
    """Reserve ``amount`` (minor units) on a locked, succeeded intent; the refund."""
    refundable = intent.amount_received - intent.amount_refunded
    amount = refundable if amount is None else amount
    if intent.status != PaymentIntent.Status.SUCCEEDED or not intent.latest_charge:
        raise InvalidRequest(
            "Only a succeeded payment can be refunded.",
            param="payment_intent",
            code="charge_not_refundable",
        )
    if amount <= 0 or amount > refundable:
        raise InvalidRequest(
            f"Refund amount ({amount}) is greater than unrefunded amount on "
            f"charge ({refundable})",
            param="amount",
            code="amount_too_large",
        )
    if credit_note is not None:
        key = f"tally_{credit_note.pk}_refund"
    else:
        number = Refund.objects.filter(payment_intent=intent).count() + 1
        key = f"tally_{intent.pk}_refund_{number}"
    refund = Refund.objects.create(
        payment_intent=intent,
        credit_note=credit_note,
        amount=amount,
        currency=intent.currency,
        reason=reason,
        idempotency_key=key,
        created=now,
        livemode=intent.livemode,
    )
    intent.amount_refunded += amount
    intent.save(update_fields=["amount_refunded"])
    return refund


def payment_refund(
    *,
    payment_intent: PaymentIntent,
    amount: int | None = None,
    reason: str | None = None,
    now: datetime,
) -> Refund:
    """Refund ``amount`` (minor units; default what is left) of a paid intent."""
    with transaction.atomic():
        intent = PaymentIntent.objects.select_for_update().get(pk=payment_intent.pk)
        refund = _refund_plan(intent=intent, amount=amount, reason=reason, now=now)
    return refund_execute(refund_id=refund.pk, now=now)


def credit_note_refund(*, credit_note, invoice, now: datetime) -> list[dict]:
    """Billing's refunder: give a new credit note's ``refund_amount`` back.

    Runs in the credit note's transaction with the invoice locked, so a refusal
    writes nothing; the processor is asked once that transaction commits.
    """
    intent = (
        PaymentIntent.objects.select_for_update()
        .filter(invoice=invoice, status=PaymentIntent.Status.SUCCEEDED)
        .first()
    )
    refundable = intent.amount_received - intent.amount_refunded if intent else 0
    if credit_note.refund_amount > refundable:
        raise InvalidRequest(
            f"The refund_amount ({credit_note.refund_amount}) is more than can be "
            f"refunded through the payment processor ({refundable}): the rest was "
            "paid outside Tally. Give it back as out_of_band_amount or "
            "credit_amount.",
            param="refund_amount",
            code="amount_too_large",
        )
    refund = _refund_plan(
        intent=intent,
        amount=credit_note.refund_amount,
        reason=_REASONS.get(credit_note.reason),
        now=now,
        credit_note=credit_note,
    )
    transaction.on_commit(
        lambda: refund_execute(refund_id=refund.pk, now=now), robust=True
    )
    return [
        {
            "amount_refunded": refund.amount,
            "payment_record_refund": None,
            "refund": refund.pk,
            "type": "refund",
        }
    ]


def refund_execute(*, refund_id: str, now: datetime) -> Refund:
    """Ask the processor for a pending refund (again, with its key) and record it."""
    refund = Refund.objects.select_related("payment_intent").get(pk=refund_id)
    if refund.status != Refund.Status.PENDING or refund.processor_reference:
        return refund
    processor = processor_named(_processor_of(refund.payment_intent))
    try:
        result = processor.refund(
            charge=refund.payment_intent.latest_charge,
            amount=refund.amount,
            idempotency_key=refund.idempotency_key,
        )
    except ProcessorError:
        logger.exception("processor error on %s", refund.idempotency_key)
        return refund  # stays pending: asked again by the Beat job
    return refund_record(refund_id=refund.pk, result=result, now=now)


@transaction.atomic
def refund_record(*, refund_id: str, result: RefundResult, now: datetime) -> Refund:
    """Record what the processor said of a pending refund (also its webhooks)."""
    intent_id = Refund.objects.values_list("payment_intent_id", flat=True).get(
        pk=refund_id
    )
    PaymentIntent.objects.select_for_update().filter(pk=intent_id).first()
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    if refund.status != Refund.Status.PENDING:
        return refund  # recorded by another worker or webhook
    first_answer = not refund.processor_reference
    refund.status = result.status
    refund.processor_reference = result.reference or refund.processor_reference
    refund.save(update_fields=["status", "processor_reference"])
    if first_answer:
        event_emit(type="refund.created", instance=refund)
    if result.status == Refund.Status.FAILED:
        PaymentIntent.objects.filter(pk=intent_id).update(
            amount_refunded=F("amount_refunded") - refund.amount
        )
        event_emit(type="refund.failed", instance=refund)
    elif not first_answer:
        event_emit(type="refund.updated", instance=refund)
    return refund


def refunds_pending_retry(*, now: datetime, test_clock=None, limit: int = 1000) -> int:
    """Ask again for refunds a crashed worker left unanswered; how many."""
    stale = (
        Refund.objects.filter(
            status=Refund.Status.PENDING,
            processor_reference__isnull=True,
            created__lte=now - STALE_PENDING,
            payment_intent__invoice__test_clock=test_clock,
        )
        .order_by("created", "id")
        .values_list("id", flat=True)[:limit]
    )
    ids = list(stale)
    for refund_id in ids:
        refund_execute(refund_id=refund_id, now=now)
    return len(ids)


def _processor_of(intent: PaymentIntent) -> str:
    """The processor that took the intent's succeeded charge."""
    return (
        PaymentAttempt.objects.filter(payment_intent=intent, status="succeeded")
        .values_list("processor", flat=True)
        .get()
    )
