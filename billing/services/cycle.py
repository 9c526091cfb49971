"""Closing a billing period: what the cycle invoice bills, for many at once.

``billing.compose.collect.cycles_collect`` reads what a set of subscriptions'
closes need in a few queries, ``cycle_plan`` prices one close through the
pipeline's ``rate`` step without writing (previews take the same steps), and
``cycles_write`` persists a set of closes in bulk: invoices and their lines,
cancellations, the next periods, and the events. The period close job
(``period_close``) runs them a chunk of subscriptions at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from billing.compose.collect import CycleInputs, UsageReader
from billing.compose.rate import cycle_drafts
from billing.compose.rows import grace_period
from billing.models import Invoice, Subscription
from billing.services import cancellation
from billing.services.events import EventBatch, before
from billing.services.finalize import invoice_finalize
from billing.services.persist import NewInvoice, subscription_invoices_create
from billing.services.rate_card_subscriptions import rate_card_periods_start
from core.bulk import bulk_save


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
    inputs: CycleInputs,
    *,
    reason: str = Invoice.BillingReason.SUBSCRIPTION_CYCLE,
    finalize_now: bool = False,
) -> CycleClose:
    """Price the close of the subscription's current period (writes nothing)."""
    sub = inputs.subscription
    ending = reason == Invoice.BillingReason.SUBSCRIPTION_CYCLE and (
        ends_at_period_end(sub)
    )
    was = None if ending else before(sub)
    drafts, new_end = cycle_drafts(inputs, ending=ending)
    new, end = None, sub.current_period_end
    if drafts:
        new = NewInvoice(
            subscription=sub,
            billing_reason=reason,
            period_start=sub.current_period_start,
            period_end=sub.current_period_end,
            drafts=drafts,
            items=inputs.pending,
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
    _advance([close for close in closes if not close.ending], events, now)


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


def _advance(closes: list[CycleClose], events: EventBatch, now: datetime) -> None:
    """Start each subscription's next period (its items' too); a trial ends.

    A subscription that follows a rate card takes the rates in force then.
    """
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
    rate_card_periods_start([close.sub for close in closes], now=now)
    for close in closes:
        events.emit_updated("customer.subscription.updated", close.sub, close.was)
