"""Period close: one invoice per subscription and ended period, exactly once.

The job claims due subscriptions (``current_period_end <= now``, or a
``cancel_at`` reached) a chunk at a time, in id order, with ``SELECT ... FOR
UPDATE SKIP LOCKED``: two workers never take the same subscription, and one that
another worker holds is skipped (that worker closes all of its due periods). A
subscription that missed several periods catches up one period per round, in
order, within its chunk.

A chunk is one transaction, closed set-based through the composition pipeline
(``billing.compose``): items, usage lines, pending items and usage (one grouped
query per meter and period) are collected for the whole chunk, lines are rated
by the pure engine, and invoices, lines, period moves and events are persisted
in bulk (``billing.services.cycle``) — a few dozen queries for
hundreds of subscriptions instead of a dozen each. A failure rolls the whole
chunk back (never an invoice without its period move); the chunk is then redone
one subscription per transaction, so only a subscription that fails by itself is
left, and the next run redoes it (``billing.services.jobs``). The price is that a
chunk's rows stay locked for the chunk (about a second), so an API change to one
of them waits that long.
Should two workers ever race past the locks (SQLite has none), the unique
constraint on (subscription, billing_reason, period start) refuses the second
invoice.

At a period's end the cycle invoice bills the ended period's metered usage in
arrears, the new period's licensed prices in advance, pending invoice items, and
usage that reached the period before after its invoice was final ("Usage from
previous period"). It finalizes after the grace period.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Min, Q, QuerySet

from billing.compose.collect import UsageReader, cycles_collect
from billing.compose.rows import items_by_subscription
from billing.models import Invoice, Subscription
from billing.services import cancellation
from billing.services.cycle import cycle_plan, cycles_write
from billing.services.events import EventBatch
from billing.services.jobs import chunks_run
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
    """Close every due period of every due subscription; returns the steps done."""
    usage = UsageReader()
    return chunks_run(
        claim=lambda after: _claim(now=now, test_clock=test_clock, after=after),
        chunk_do=lambda subs: _close_chunk(subs, now, usage),
        one_do=lambda pk: _close_one(pk, now, usage, skip_locked=True),
    )


def _claim(
    *, now: datetime, test_clock: TestClock | None, after: str
) -> list[Subscription]:
    """Lock the next chunk of due subscriptions that no other worker holds."""
    return list(
        due_subscriptions(now=now, test_clock=test_clock)
        .filter(pk__gt=after)
        .select_for_update(of=("self",), skip_locked=True)
        .select_related("customer")
        .order_by("id")[:_CHUNK]
    )


def subscription_close_next(
    *, subscription_id: str, now: datetime, usage: UsageReader | None = None
) -> bool:
    """Do the subscription's next due step in one transaction; False if none."""
    return _close_one(subscription_id, now, usage or UsageReader(), once=True) > 0


def _close_one(
    subscription_id: str,
    now: datetime,
    usage: UsageReader,
    *,
    skip_locked: bool = False,
    once: bool = False,
) -> int:
    """Close the subscription's due periods in one transaction (a chunk of one)."""
    try:
        with transaction.atomic():
            subs = list(
                Subscription.objects.select_for_update(
                    of=("self",), skip_locked=skip_locked
                )
                .select_related("customer")
                .filter(pk=subscription_id)
            )
            return _close_chunk(subs, now, usage, once=once)
    except IntegrityError:
        # Another worker closed this period first: its invoice holds the key.
        sub = Subscription.objects.filter(pk=subscription_id).first()
        if sub is not None and _due_step(sub, now) is None:
            return 0
        if sub is not None and _duplicate_exists(sub):
            logger.info("Period of %s already closed elsewhere", subscription_id)
            return 0
        raise


def _close_chunk(
    subs: list[Subscription], now: datetime, usage: UsageReader, *, once=False
) -> int:
    """Close the due periods of locked subscriptions, a period per round.

    Returns the steps done (periods closed, subscriptions canceled).
    """
    items = items_by_subscription(sub.pk for sub in subs)
    for sub in subs:
        sub._loaded_items = items[sub.pk]
    done, due = 0, [sub for sub in subs if _due_step(sub, now) is not None]
    while due:
        _close_round(due, now, usage)
        done += len(due)
        if once:
            break
        due = [sub for sub in due if _due_step(sub, now) is not None]
    return done


def _close_round(subs: list[Subscription], now: datetime, usage: UsageReader):
    """Do the next step of each due subscription; period ends are written in bulk."""
    ending_now = [sub for sub in subs if _due_step(sub, now) is _cancel_at_step]
    for sub in ending_now:
        _cancel_at_step(sub, sub._loaded_items, now, usage)
    cycles = [sub for sub in subs if sub not in ending_now]
    if not cycles:
        return
    inputs = cycles_collect(cycles, usage)
    events = EventBatch()
    closes = [cycle_plan(inputs[sub.pk]) for sub in cycles]
    cycles_write(closes, now, usage, events)
    events.record()


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
    sub._loaded_items = items
    events = EventBatch()
    inputs = cycles_collect([sub], usage)[sub.pk]
    close = cycle_plan(inputs, reason=reason, finalize_now=finalize_now)
    cycles_write([close], now, usage, events, finalize_now=finalize_now)
    events.record()


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
