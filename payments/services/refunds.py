"""Refunds through the processor that took the payment.

``payment_refund`` is the one entry point (credit notes with ``refund_amount``
call it): it reserves the amount on the PaymentIntent under its lock, asks the
processor with an idempotency key derived from the refund, and records the outcome.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F

from core.errors import InvalidRequest
from core.services.events import event_emit
from payments.models import PaymentAttempt, PaymentIntent, Refund
from payments.processors import processor_named
from payments.processors.base import ProcessorError


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
        number = Refund.objects.filter(payment_intent=intent).count() + 1
        refund = Refund.objects.create(
            payment_intent=intent,
            amount=amount,
            currency=intent.currency,
            reason=reason,
            status="pending",
            idempotency_key=f"tally_{intent.pk}_refund_{number}",
            created=now,
            livemode=intent.livemode,
        )
        intent.amount_refunded += amount
        intent.save(update_fields=["amount_refunded"])
    processor = processor_named(_processor_of(intent))
    try:
        result = processor.refund(
            charge=intent.latest_charge,
            amount=amount,
            idempotency_key=refund.idempotency_key,
        )
        status, reference = result.status, result.reference
    except ProcessorError:
        status, reference = "failed", None
    with transaction.atomic():
        refund.status = status
        refund.processor_reference = reference
        refund.save(update_fields=["status", "processor_reference"])
        if status == "failed":
            PaymentIntent.objects.filter(pk=intent.pk).update(
                amount_refunded=F("amount_refunded") - amount
            )
        event_emit(type="refund.created", instance=refund)
    return refund


def _processor_of(intent: PaymentIntent) -> str:
    return (
        PaymentAttempt.objects.filter(payment_intent=intent, status="succeeded")
        .values_list("processor", flat=True)
        .first()
        or "simulator"
    )
