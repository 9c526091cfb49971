"""Period close: one invoice per subscription and ended period, exactly once.

The job selects due subscriptions by state (``current_period_end <= now``, or a
``cancel_at`` reached), in id order, and handles each in its own short
transaction holding the subscription's row lock; a subscription that missed
several periods catches up one period per transaction, in order. A rerun or a
second worker finds nothing due (the period moved on) and, should two ever race
past the lock (SQLite has none), the unique constraint on (subscription,
billing_reason, period start) refuses the second invoice.

At a period's end the cycle invoice bills the ended period's metered usage in
arrears, the new period's licensed prices in advance, pending invoice items, and
usage that reached the period before after its invoice was final ("Usage from
previous period"). It finalizes after the grace period.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Min, Q, QuerySet

from billing.models import (
    Invoice,
    InvoiceItem,
    Subscription,
    SubscriptionItem,
)
from billing.periods import next_boundary, period_containing
from billing.services import cancellation
from billing.services.arrears import ROW_FIELDS, arrears_drafts, line_rows
from billing.services.events import before, emit_updated
from billing.services.finalize import invoice_finalize
from billing.services.invoicing import (
    pending_drafts,
    pending_items,
    period_share,
    subscription_invoice_create,
)
from billing.services.lines import (
    UsageReader,
    cycle_of,
    grace_period,
    items_with_prices,
    licensed_draft,
)
from core.errors import InvalidRequest
from core.models import TestClock

logger = logging.getLogger(__name__)

CLOSING_STATUSES = ("trialing", "active", "past_due", "unpaid")
_CHUNK = 500


def _due(now: datetime) -> Q:
    return Q(status__in=CLOSING_STATUSES) & (
        Q(current_period_end__lte=now) | Q(cancel_at__lte=now)
    )


def due_subscriptions(
    *, now: datetime, test_clock: TestClock | None
) -> QuerySet[Subscription]:
    """Subscriptions with a period end (or cancel_at) reached; clock ones apart."""
    rows = Subscription.objects.filter(_due(now))
    if test_clock is None:
        return rows.filter(test_clock__isnull=True)
    return rows.filter(test_clock=test_clock)


def next_period_event(*, test_clock: TestClock) -> datetime | None:
    """When the clock's earliest period end or ``cancel_at`` comes (clock handler)."""
    rows = Subscription.objects.filter(
        test_clock=test_clock, status__in=CLOSING_STATUSES
    ).aggregate(end=Min("current_period_end"), cancel=Min("cancel_at"))
    moments = [moment for moment in rows.values() if moment is not None]
    return min(moments) if moments else None


def subscriptions_close_due(
    *, now: datetime, test_clock: TestClock | None = None
) -> int:
    """Close every due period of every due subscription; returns invoices made.

    Workers may run this side by side: a subscription another worker holds is
    skipped (that worker closes all of its due periods).
    """
    ids = list(
        due_subscriptions(now=now, test_clock=test_clock)
        .order_by("id")
        .values_list("id", flat=True)
    )
    usage, done = UsageReader(), 0
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        batch = _Batch(chunk, usage)
        for subscription_id in chunk:
            sub = _close_step(subscription_id, now, usage, batch=batch, skip=True)
            while sub is not None:
                done += 1
                if _due_step(sub, now) is None:
                    break
                sub = _close_step(subscription_id, now, usage, skip=True)
    return done


class _Batch:
    """What a chunk of due subscriptions needs, read in a few queries up front.

    Usage reads are announced (shared periods read in one query), and the usage
    lines and pending-item customers are read for the whole chunk. A draft made
    from them is exact once it finalizes: finalization re-reads usage and billed
    lines, so nothing read here early can end up on a final invoice.
    """

    def __init__(self, ids: list[str], usage: UsageReader) -> None:
        items = list(
            SubscriptionItem.objects.filter(
                subscription_id__in=ids, price__recurring_usage_type="metered"
            ).select_related("price__recurring_meter", "subscription")
        )
        self.rows: dict[str, list] = defaultdict(list)
        for item in items:
            sub = item.subscription
            meter = item.price.recurring_meter
            usage.expect(
                meter,
                sub.customer_id,
                item.current_period_start,
                sub.current_period_end,
            )
            previous_start, _ = period_containing(
                cycle_of(sub), sub.current_period_start - timedelta(seconds=1)
            )
            usage.expect(
                meter,
                sub.customer_id,
                max(previous_start, sub.start_date),
                sub.current_period_start,
            )
        if items:
            rows = line_rows(
                Q(subscription_item_id__in=[item.pk for item in items])
            ).filter(period_end__gte=min(item.current_period_start for item in items))
            for row in rows.values_list("subscription_id", *ROW_FIELDS):
                self.rows[row[0]].append(row[1:])
        self.pending_customers = set(
            InvoiceItem.objects.filter(
                invoice__isnull=True,
                customer__subscriptions__in=ids,
            ).values_list("customer_id", flat=True)
        )

    def prepare(self, sub: Subscription) -> None:
        """Hand the chunk's reads to the subscription's first step (once)."""
        sub._usage_rows = self.rows.pop(sub.pk, [])
        sub._has_pending = sub.customer_id in self.pending_customers


def subscription_close_next(
    *, subscription_id: str, now: datetime, usage: UsageReader | None = None
) -> bool:
    """Do the subscription's next due step in one transaction; False if none."""
    return _close_step(subscription_id, now, usage or UsageReader()) is not None


def _close_step(
    subscription_id: str,
    now: datetime,
    usage: UsageReader,
    *,
    batch: _Batch | None = None,
    skip: bool = False,
) -> Subscription | None:
    """Lock the subscription and do its next due step; None if nothing was due."""
    try:
        with transaction.atomic():
            sub = (
                Subscription.objects.select_for_update(of=("self",), skip_locked=skip)
                .select_related("customer")
                .filter(pk=subscription_id)
                .first()
            )
            step = _due_step(sub, now) if sub is not None else None
            if step is None:
                return None
            if batch is not None:
                batch.prepare(sub)
            items = list(items_with_prices(sub))
            sub._loaded_items = items
            step(sub, items, now, usage)
            return sub
    except IntegrityError:
        # Another worker closed this period first: its invoice holds the key.
        sub = Subscription.objects.filter(pk=subscription_id).first()
        if sub is not None and _due_step(sub, now) is None:
            return None
        if sub is not None and _duplicate_exists(sub):
            logger.info("Period of %s already closed elsewhere", subscription_id)
            return None
        raise


def _duplicate_exists(sub: Subscription) -> bool:
    return Invoice.objects.filter(
        subscription=sub,
        billing_reason=Invoice.BillingReason.SUBSCRIPTION_CYCLE,
        period_start=sub.current_period_start,
    ).exists()


def _due_step(sub: Subscription, now: datetime):
    if sub.status not in CLOSING_STATUSES:
        return None
    end = sub.current_period_end
    if sub.cancel_at is not None and sub.cancel_at < end and sub.cancel_at <= now:
        return _cancel_at_step
    if end <= now:
        return _cycle_step
    return None


def _cancel_at_step(sub, items, now, usage) -> None:
    """``cancel_at`` reached mid-period: final invoice, credit for unused seats."""
    cancellation.subscription_end(
        subscription=sub,
        items=items,
        at=sub.cancel_at,
        invoice_now=True,
        prorate=True,
        now=now,
        usage=usage,
    )


def cycle_drafts(
    sub: Subscription,
    items,
    now: datetime,
    usage: UsageReader,
    *,
    ending: bool,
    lock: bool = True,
) -> tuple[list, list, datetime | None]:
    """The lines closing the current period: (drafts, pending items, new end).

    Pending items, the period's usage in arrears (not for a trial, which is
    free), late usage of the period before, and unless the subscription ends,
    the next period's licensed prices in advance. Writes nothing.
    """
    ended_end = sub.current_period_end
    pending = []
    if getattr(sub, "_has_pending", True):
        pending = pending_items(subscription=sub, lock=lock)
    sub._has_pending = None
    drafts = pending_drafts(pending)
    if sub.status != Subscription.Status.TRIALING:
        drafts += arrears_drafts(sub, items, usage, now)
    new_end = None
    if not ending:
        new_end = next_boundary(cycle_of(sub), ended_end)
        share = period_share(sub, ended_end, new_end)
        drafts += [
            licensed_draft(item=item, start=ended_end, end=new_end, share=share)
            for item in items
            if not item.price.is_metered
        ]
    return drafts, pending, new_end


def ends_at_period_end(sub: Subscription) -> bool:
    return sub.cancel_at_period_end or (
        sub.cancel_at is not None and sub.cancel_at <= sub.current_period_end
    )


def _cycle_step(
    sub: Subscription,
    items,
    now: datetime,
    usage: UsageReader,
    *,
    reason: str = Invoice.BillingReason.SUBSCRIPTION_CYCLE,
    finalize_now: bool = False,
) -> None:
    """Close the ended period: one cycle invoice, then the next period begins."""
    ended_start, ended_end = sub.current_period_start, sub.current_period_end
    ending = reason == Invoice.BillingReason.SUBSCRIPTION_CYCLE and (
        ends_at_period_end(sub)
    )
    was_trial = sub.status == Subscription.Status.TRIALING
    was = before(sub)
    drafts, pending, new_end = cycle_drafts(sub, items, now, usage, ending=ending)
    if drafts:
        invoice = subscription_invoice_create(
            subscription=sub,
            billing_reason=reason,
            period_start=ended_start,
            period_end=ended_end,
            drafts=drafts,
            items=pending,
            now=now,
            finalize_at=None if finalize_now else ended_end + grace_period(),
        )
        sub.latest_invoice = invoice
        if finalize_now:
            invoice_finalize(invoice=invoice, now=now, usage=usage)
    if ending:
        cancellation.mark_canceled(subscription=sub, at=ended_end, now=now)
        return
    _advance(sub, ended_end, new_end)
    if was_trial:
        sub.status = Subscription.Status.ACTIVE
    sub.save(
        update_fields=[
            "current_period_start",
            "current_period_end",
            "status",
            "latest_invoice",
            "billing_cycle_anchor",
            "anchor_day",
            "billing_cycle_anchor_config",
            "trial_end",
        ]
    )
    emit_updated("customer.subscription.updated", sub, was)


def subscription_period_restart(
    *,
    subscription: Subscription,
    items,
    now: datetime,
    reason: str,
    usage: UsageReader | None = None,
) -> None:
    """End the current period now and start a new cycle anchored now (locked sub).

    Unused licensed time of the cut period is credited (not for a trial, which
    was free); the invoice bills usage so far, the credits and the new period's
    licensed prices, and finalizes at once.
    """
    usage = usage or UsageReader()
    if now <= subscription.current_period_start:
        raise InvalidRequest(
            "The billing period started this very second; try again in a moment.",
            param="billing_cycle_anchor",
        )
    if subscription.status != Subscription.Status.TRIALING:
        cancellation.unused_time_credits(
            subscription=subscription, items=items, at=now, now=now
        )
    else:
        subscription.trial_end = now
    subscription.current_period_end = now
    subscription.billing_cycle_anchor = now
    subscription.anchor_day = now.day
    subscription.billing_cycle_anchor_config = None
    _cycle_step(subscription, items, now, usage, reason=reason, finalize_now=True)


def _advance(sub: Subscription, start: datetime, end: datetime) -> None:
    sub.current_period_start, sub.current_period_end = start, end
    SubscriptionItem.objects.filter(subscription=sub).update(
        current_period_start=start, current_period_end=end
    )
    for item in getattr(sub, "_loaded_items", ()):
        item.current_period_start, item.current_period_end = start, end
