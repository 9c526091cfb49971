"""A subscription's first invoice: every period from the start to the current one.

Licensed prices in advance (prorated for a partial first period, free during a
trial or with ``proration_behavior=none`` on a partial one), a zero line per
metered item for the current period, and for a backdated start the usage of each
period already over; pending items too. It finalizes at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from billing.compose.collect import UsageReader
from billing.compose.rate import (
    item_usage_draft,
    licensed_draft,
    pending_drafts,
    period_share,
    usage_placeholder,
)
from billing.models import Invoice, Subscription
from billing.periods import Cycle, next_boundary
from billing.services.events import before, emit, emit_updated
from billing.services.finalize import invoice_finalize
from billing.services.pending import pending_items
from billing.services.persist import subscription_invoice_create

INCOMPLETE_EXPIRES = timedelta(hours=23)


def period_segments(
    cycle: Cycle, start, now, trial_end
) -> list[tuple[datetime, datetime]]:
    """Periods from the start to the one containing now (one, unless backdated)."""
    if trial_end is not None:
        return [(start, trial_end)]
    segments, cursor = [], start
    while True:
        end = next_boundary(cycle, cursor)
        segments.append((cursor, end))
        if end > now:
            return segments
        cursor = end


def _drafts(sub, items, segments, *, trial, free_partial, usage, now) -> list:
    drafts = []
    for start, end in segments:
        for item in items:
            if item.price.is_metered:
                if end <= now and not trial:
                    total = usage.price_usage(item.price, sub.customer_id, start, end)
                    drafts.append(
                        item_usage_draft(item=item, start=start, end=end, total=total)
                    )
                else:
                    drafts.append(usage_placeholder(item=item, start=start, end=end))
                continue
            share = period_share(sub, start, end)
            if free_partial and share != 1:
                share = Decimal(0)
            drafts.append(
                licensed_draft(
                    item=item, start=start, end=end, share=share, trial=trial
                )
            )
    return drafts


def first_invoice_create(sub, items, segments, params, trial_end, now) -> Subscription:
    """Write, finalize and announce the subscription's first invoice."""
    pending = pending_items(subscription=sub)
    drafts = pending_drafts(pending) + _drafts(
        sub,
        items,
        segments,
        trial=trial_end is not None,
        free_partial=params.get("proration_behavior") == "none",
        usage=UsageReader(),
        now=now,
    )
    invoice = subscription_invoice_create(
        subscription=sub,
        billing_reason=Invoice.BillingReason.SUBSCRIPTION_CREATE,
        period_start=sub.start_date,
        period_end=sub.start_date,
        drafts=drafts,
        items=pending,
        now=now,
        finalize_at=None,
    )
    sub.latest_invoice = invoice
    incomplete = (
        params.get("payment_behavior") == "default_incomplete"
        and invoice.total + sub.customer.balance > 0
    )
    if incomplete:
        sub.status = Subscription.Status.INCOMPLETE
        sub.incomplete_expires_at = now + INCOMPLETE_EXPIRES
    sub.save(update_fields=["latest_invoice", "status", "incomplete_expires_at"])
    emit("customer.subscription.created", sub)
    invoice = invoice_finalize(invoice=invoice, now=now)
    sub.latest_invoice = invoice
    if incomplete and invoice.status == Invoice.Status.PAID:
        was = before(sub)
        sub.status, sub.incomplete_expires_at = Subscription.Status.ACTIVE, None
        emit_updated("customer.subscription.updated", sub, was)
    return sub
