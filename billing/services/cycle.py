"""Closing a billing period: what the cycle invoice bills, for many at once.

``cycle_prefetch`` reads what a set of subscriptions' closes need in a few
queries, ``cycle_plan`` prices one close without writing (previews use its
pieces too), and ``cycles_write`` writes a set of closes in bulk: invoices and
their lines, cancellations, the next periods, and the events. The period close
job (``period_close``) runs them a chunk of subscriptions at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q

from billing.bulk import bulk_save
from billing.models import Invoice, InvoiceItem, Subscription
from billing.periods import next_boundary, period_containing
from billing.services import cancellation
from billing.services.arrears import ROW_FIELDS, arrears_drafts, line_rows
from billing.services.events import EventBatch, before
from billing.services.finalize import invoice_finalize
from billing.services.invoicing import (
    NewInvoice,
    pending_drafts,
    pending_items,
    period_share,
    subscription_invoices_create,
)
from billing.services.lines import (
    UsageReader,
    cycle_of,
    grace_period,
    licensed_draft,
)


def cycle_prefetch(
    subs: list[Subscription], usage: UsageReader, *, pending: set[str] | None = None
) -> None:
    """Read what the subscriptions' period close needs, for all of them at once.

    Usage reads are announced (one grouped query per meter and period later),
    and the usage lines and pending-item customers are read in one query each;
    ``arrears.usage_lines`` and ``cycle_drafts`` take them from the subscription.
    A draft made from them is exact once it finalizes: finalization re-reads
    usage and billed lines, so nothing read here early can end up on a final
    invoice.
    """
    metered = []
    for sub in subs:
        sub._usage_rows = []
        previous_start, _ = period_containing(
            cycle_of(sub), sub.current_period_start - timedelta(seconds=1)
        )
        for item in sub._loaded_items:
            if not item.price.is_metered:
                continue
            metered.append(item)
            meter, customer_id = item.price.recurring_meter, sub.customer_id
            end = sub.current_period_end
            usage.expect(meter, customer_id, item.current_period_start, end)
            start = max(previous_start, sub.start_date)
            usage.expect(meter, customer_id, start, sub.current_period_start)
    by_id = {sub.pk: sub for sub in subs}
    if metered:
        rows = line_rows(
            Q(subscription_item_id__in=[item.pk for item in metered])
        ).filter(period_end__gte=min(item.current_period_start for item in metered))
        for row in rows.values_list("subscription_id", *ROW_FIELDS):
            by_id[row[0]]._usage_rows.append(row[1:])
    if pending is None:  # the customers with pending items, unless known
        pending = set(
            InvoiceItem.objects.filter(
                invoice__isnull=True, customer_id__in={sub.customer_id for sub in subs}
            ).values_list("customer_id", flat=True)
        )
    for sub in subs:
        sub._has_pending = sub.customer_id in pending


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


@dataclass
class CycleClose:
    """One subscription's period close, priced and not written yet."""

    sub: Subscription
    new: NewInvoice | None  # None when nothing is billed
    ending: bool  # the subscription ends with the period
    new_end: datetime | None  # of the next period, unless ending
    was: dict | None  # the subscription before (for ``…updated``), unless ending


def cycle_plan(
    sub: Subscription,
    items,
    now: datetime,
    usage: UsageReader,
    *,
    reason: str = Invoice.BillingReason.SUBSCRIPTION_CYCLE,
    finalize_now: bool = False,
) -> CycleClose:
    """Price the close of the subscription's current period (writes nothing)."""
    ending = reason == Invoice.BillingReason.SUBSCRIPTION_CYCLE and (
        ends_at_period_end(sub)
    )
    was = None if ending else before(sub)
    drafts, pending, new_end = cycle_drafts(sub, items, now, usage, ending=ending)
    new, end = None, sub.current_period_end
    if drafts:
        new = NewInvoice(
            subscription=sub,
            billing_reason=reason,
            period_start=sub.current_period_start,
            period_end=sub.current_period_end,
            drafts=drafts,
            items=pending,
            finalize_at=None if finalize_now else end + grace_period(),
        )
    return CycleClose(sub=sub, new=new, ending=ending, new_end=new_end, was=was)


def cycles_write(
    closes: list[CycleClose],
    now: datetime,
    usage: UsageReader,
    events: EventBatch,
    *,
    finalize_now: bool = False,
) -> None:
    """Write the closes: invoices, then cancellations and next periods."""
    billed = [close for close in closes if close.new is not None]
    invoices = subscription_invoices_create(
        new=[close.new for close in billed], now=now, events=events
    )
    for close, invoice in zip(billed, invoices, strict=True):
        close.sub.latest_invoice = invoice
    if finalize_now:
        events.record()  # invoice.created comes before invoice.finalized
        for invoice in invoices:
            invoice_finalize(invoice=invoice, now=now, usage=usage)
    for close in closes:
        if close.ending:
            cancellation.mark_canceled(
                subscription=close.sub,
                at=close.sub.current_period_end,
                now=now,
                events=events,
            )
    _advance([close for close in closes if not close.ending], events)


# What a period move saves on the subscription.
_MOVED_FIELDS = (
    "current_period_start",
    "current_period_end",
    "status",
    "latest_invoice",
    "billing_cycle_anchor",
    "anchor_day",
    "billing_cycle_anchor_config",
    "trial_end",
)


def _advance(closes: list[CycleClose], events: EventBatch) -> None:
    """Start each subscription's next period (its items' too); a trial ends."""
    for close in closes:
        sub = close.sub
        start, end = sub.current_period_end, close.new_end
        sub.current_period_start, sub.current_period_end = start, end
        if sub.status == Subscription.Status.TRIALING:
            sub.status = Subscription.Status.ACTIVE
        for item in sub._loaded_items:
            item.current_period_start, item.current_period_end = start, end
    bulk_save([close.sub for close in closes], _MOVED_FIELDS)
    bulk_save(
        [item for close in closes for item in close.sub._loaded_items],
        ["current_period_start", "current_period_end"],
    )
    for close in closes:
        events.emit_updated("customer.subscription.updated", close.sub, close.was)
