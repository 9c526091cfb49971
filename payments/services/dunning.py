"""After a failed charge: the next retry, the customer's email, the end state.

Each failure records ``invoice.payment_failed`` (or
``invoice.payment_action_required`` when the card needs the customer), puts an
active subscription ``past_due``, plans the next attempt from the retry schedule,
and emails the customer a link to pay. When no retry is left, the configured end
state follows: the subscription ``unpaid`` or ``canceled`` (or left past due),
the invoice left open or marked ``uncollectible``; each step is its own event.
"""

from __future__ import annotations

from datetime import datetime

from billing.models import Invoice, Subscription
from billing.services.events import before, emit_updated
from core.services.events import event_emit
from payments.models import PaymentAttempt
from payments.schedule import next_attempt_at
from payments.services import emails
from payments.settings_store import collection_settings


def invoice_payment_failed(
    *, invoice: Invoice, attempt: PaymentAttempt, needs_action: bool, now: datetime
) -> None:
    """Events, retry, subscription and email after ``attempt`` failed (locked)."""
    config = collection_settings()
    retry_at = None
    if invoice.collection_method == Invoice.CollectionMethod.CHARGE_AUTOMATICALLY:
        first = (
            PaymentAttempt.objects.filter(invoice=invoice)
            .order_by("number")
            .values_list("created", flat=True)
            .first()
        )
        retry_at = next_attempt_at(
            first_attempt_at=first or now,
            attempts_made=invoice.attempt_count,
            retry_days=config.retry_days,
        )
    invoice.next_payment_attempt = retry_at
    invoice.save(update_fields=["next_payment_attempt"])
    event_emit(type=_intent_event(attempt), instance=attempt.payment_intent)
    event_emit(type=_invoice_event(attempt), instance=invoice)
    _subscription_past_due(invoice)
    if config.dunning_emails:
        emails.payment_failed_email(
            invoice=invoice, attempt=attempt, retry_at=retry_at, now=now
        )
    if retry_at is None and invoice.collection_method == "charge_automatically":
        _end_of_dunning(invoice, config, now)


def _invoice_event(attempt: PaymentAttempt) -> str:
    if attempt.status == PaymentAttempt.Status.REQUIRES_ACTION:
        return "invoice.payment_action_required"
    return "invoice.payment_failed"


def _intent_event(attempt: PaymentAttempt) -> str:
    if attempt.status == PaymentAttempt.Status.REQUIRES_ACTION:
        return "payment_intent.requires_action"
    return "payment_intent.payment_failed"


def _subscription_past_due(invoice: Invoice) -> None:
    if invoice.subscription_id is None:
        return
    sub = Subscription.objects.select_for_update().get(pk=invoice.subscription_id)
    if sub.status != Subscription.Status.ACTIVE:
        return
    was = before(sub)
    sub.status = Subscription.Status.PAST_DUE
    sub.save(update_fields=["status"])
    emit_updated("customer.subscription.updated", sub, was)


def _end_of_dunning(invoice: Invoice, config, now: datetime) -> None:
    """No retry left: the configured end state, each step its own event."""
    from billing.services.invoices import invoice_mark_uncollectible
    from billing.services.subscriptions import subscription_cancel

    if invoice.subscription_id is not None:
        sub = Subscription.objects.select_for_update().get(pk=invoice.subscription_id)
        if config.subscription_end == "unpaid" and sub.status == "past_due":
            was = before(sub)
            sub.status = Subscription.Status.UNPAID
            sub.save(update_fields=["status"])
            emit_updated("customer.subscription.updated", sub, was)
        elif config.subscription_end == "canceled" and sub.status not in (
            "canceled",
            "incomplete_expired",
        ):
            subscription_cancel(subscription=sub, now=now)
            Subscription.objects.filter(pk=sub.pk).update(
                cancellation_details={
                    "comment": None,
                    "feedback": None,
                    "reason": "payment_failed",
                }
            )
    if config.invoice_end == "uncollectible" and invoice.status == "open":
        invoice_mark_uncollectible(invoice=invoice, now=now)
        invoice.refresh_from_db()
