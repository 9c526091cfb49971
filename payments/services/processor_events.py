"""Stripe's webhooks in live mode: verified, deduplicated, then recorded.

A charge Stripe finishes later (``processing``), or one whose worker died before
recording it, is recorded from ``payment_intent.*`` events: the intent's metadata
names the attempt's idempotency key. A refund Stripe finishes later is recorded
from ``refund.*`` events the same way. The signature is checked with the signing
secret (``TALLY_STRIPE_WEBHOOK_SECRET``, five minutes' tolerance, so an old
delivery replayed is refused too); an event id seen before is refused; a refusal
writes nothing.
"""

from __future__ import annotations

from datetime import datetime

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction

from core.errors import InvalidRequest
from payments.models import PaymentAttempt, ProcessorEvent, Refund
from payments.processors.stripe import KEY_FIELD, intent_result, refund_result
from payments.services import collection, refunds

HANDLED = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
)
REFUND_EVENTS = ("refund.created", "refund.updated", "refund.failed")


def _verified(payload: bytes, signature: str | None):
    try:
        return stripe.Webhook.construct_event(
            payload, signature, settings.TALLY_STRIPE_WEBHOOK_SECRET
        ).to_dict()
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise InvalidRequest(
            "The webhook's signature is missing, wrong or too old.",
            code="webhook_signature_invalid",
        ) from exc


@transaction.atomic
def stripe_event_receive(
    *, payload: bytes, signature: str | None, now: datetime
) -> ProcessorEvent:
    """Verify, record once, and apply a Stripe event."""
    event = _verified(payload, signature)
    try:
        with transaction.atomic():
            received = ProcessorEvent.objects.create(
                processor="stripe",
                event_id=event["id"],
                type=event["type"],
                created=now,
                livemode=bool(event.get("livemode")),
            )
    except IntegrityError as exc:
        raise InvalidRequest(
            f"The event {event['id']} was received already.",
            code="webhook_event_replayed",
        ) from exc
    if event["type"] in HANDLED:
        _apply_intent(event["data"]["object"], now)
    elif event["type"] in REFUND_EVENTS:
        _apply_refund(event["data"]["object"], now)
    return received


def _apply_intent(intent, now: datetime) -> None:
    key = (intent.get("metadata") or {}).get(KEY_FIELD)
    attempt = PaymentAttempt.objects.filter(
        idempotency_key=key or "", processor="stripe"
    ).first()
    if attempt is None or attempt.status != PaymentAttempt.Status.PENDING:
        return
    collection.payment_attempt_record(
        attempt_id=attempt.pk, result=intent_result(intent), now=now
    )


def _apply_refund(refund, now: datetime) -> None:
    key = (refund.get("metadata") or {}).get(KEY_FIELD)
    row = Refund.objects.filter(idempotency_key=key or "").first()
    if row is None or row.status != Refund.Status.PENDING:
        return
    refunds.refund_record(refund_id=row.pk, result=refund_result(refund), now=now)
