"""Ending a subscription: now (``DELETE``), at ``cancel_at``, or at period end."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from billing.compose.collect import UsageReader
from billing.compose.pipeline import usage_so_far_drafts
from billing.compose.rate import pending_drafts
from billing.compose.rows import grace_period
from billing.models import Invoice, Subscription, SubscriptionItem
from billing.services.commitment_step import minimum_owed_at_end
from billing.services.events import EventBatch, emit
from billing.services.pending import pending_items, proration_item_create
from billing.services.persist import subscription_invoice_create


def mark_canceled(
    *,
    subscription: Subscription,
    at: datetime,
    now: datetime,
    events: EventBatch | None = None,
) -> None:
    """Record the end of the subscription at ``at``; emits ``…subscription.deleted``.

    The event goes into ``events`` when given (batch jobs), else is recorded now.
    """
    subscription.status = Subscription.Status.CANCELED
    subscription.ended_at = at
    subscription.canceled_at = subscription.canceled_at or min(at, now)
    subscription.save(
        update_fields=["status", "ended_at", "canceled_at", "latest_invoice"]
    )
    if events is None:
        emit("customer.subscription.deleted", subscription)
    else:
        events.emit("customer.subscription.deleted", subscription)


def unused_time_credits(
    *,
    subscription: Subscription,
    items: Sequence[SubscriptionItem],
    at: datetime,
    now: datetime,
) -> None:
    """Pending credits for licensed seats paid in advance but not used after ``at``."""
    if subscription.status == Subscription.Status.TRIALING:
        return
    for item in items:
        if not item.price.is_metered:
            proration_item_create(
                subscription=subscription,
                item=item,
                quantity=item.quantity or 0,
                start=at,
                end=subscription.current_period_end,
                credit=True,
                now=now,
            )


def subscription_end(
    *,
    subscription: Subscription,
    items: Sequence[SubscriptionItem],
    at: datetime,
    invoice_now: bool,
    prorate: bool,
    now: datetime,
    usage: UsageReader | None = None,
) -> Invoice | None:
    """End a locked subscription at ``at`` (≤ its period end).

    ``prorate`` credits unused licensed time as pending items; ``invoice_now`` bills
    the un-invoiced usage so far and the pending items on a final invoice, which
    finalizes after the grace period like any usage invoice. A minimum spend of
    the period makes the final invoice even when nothing else would: its true-up
    is computed when the invoice finalizes.
    """
    usage = usage or UsageReader()
    if prorate:
        unused_time_credits(subscription=subscription, items=items, at=at, now=now)
    invoice = None
    if invoice_now:
        pending = pending_items(subscription=subscription)
        drafts = pending_drafts(pending)
        if subscription.status != Subscription.Status.TRIALING:
            drafts += usage_so_far_drafts(
                customer_id=subscription.customer_id, items=items, end=at, usage=usage
            )
        if drafts or minimum_owed_at_end(subscription, at):
            invoice = subscription_invoice_create(
                subscription=subscription,
                billing_reason=Invoice.BillingReason.SUBSCRIPTION_UPDATE,
                period_start=subscription.current_period_start,
                period_end=max(at, subscription.current_period_start),
                drafts=drafts,
                items=pending,
                now=now,
                finalize_at=max(at, now) + grace_period(),
            )
            subscription.latest_invoice = invoice
    mark_canceled(subscription=subscription, at=at, now=now)
    return invoice
