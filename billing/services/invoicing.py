"""Pieces every subscription invoice is made of: the draft, pending items, prorations.

Used by subscription creation, period close, cancellation, thresholds and
previews, inside their transactions (the subscription row already locked).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q

from billing import amounts, descriptions
from billing.bulk import bulk_insert
from billing.models import (
    Invoice,
    InvoiceItem,
    Subscription,
    SubscriptionItem,
)
from billing.periods import fraction, period_containing
from billing.services.events import EventBatch, emit
from billing.services.lines import (
    LineDraft,
    cycle_of,
    invoice_item_draft,
    line_from_draft,
    spec_of,
)


def pending_items(
    *, subscription: Subscription, lock: bool = True
) -> list[InvoiceItem]:
    """Pending items the subscription's next invoice takes, newest first.

    Items scoped to this subscription, and the customer's unscoped ones, in the
    subscription's currency.
    """
    rows = InvoiceItem.objects.filter(
        customer_id=subscription.customer_id,
        invoice__isnull=True,
        currency=subscription.currency,
    ).filter(Q(subscription=subscription) | Q(subscription__isnull=True))
    if lock:
        rows = rows.select_for_update(of=("self",))
    return list(rows.select_related("price").order_by("-created", "-id"))


@dataclass(frozen=True)
class NewInvoice:
    """A draft invoice of a subscription to write: its lines and pending items."""

    subscription: Subscription
    billing_reason: str
    period_start: datetime
    period_end: datetime
    drafts: Sequence[LineDraft]
    finalize_at: datetime | None
    items: Sequence[InvoiceItem] = ()


def _draft_invoice(new: NewInvoice, now: datetime) -> Invoice:
    subscription, customer = new.subscription, new.subscription.customer
    subtotal = sum(draft.amount for draft in new.drafts)
    return Invoice(
        customer=customer,
        subscription=subscription,
        test_clock_id=subscription.test_clock_id,
        billing_reason=new.billing_reason,
        collection_method=subscription.collection_method,
        days_until_due=subscription.days_until_due,
        currency=subscription.currency,
        auto_advance=True,
        period_start=new.period_start,
        period_end=new.period_end,
        subtotal=subtotal,
        total=subtotal,
        amount_due=max(subtotal, 0),
        amount_remaining=max(subtotal, 0),
        finalize_at=new.finalize_at,
        created=now,
        webhooks_delivered_at=now,
        livemode=subscription.livemode,
        customer_name=customer.name,
        customer_email=customer.email,
        customer_address=customer.address,
    )


def subscription_invoices_create(
    *, new: Sequence[NewInvoice], now: datetime, events: EventBatch | None = None
) -> list[Invoice]:
    """Write draft invoices of subscriptions, their lines, and attach pending items.

    Three inserts however many invoices (period close writes a chunk at once);
    emits ``invoice.created`` for each, into ``events`` when given.
    """
    invoices = [_draft_invoice(entry, now) for entry in new]
    lines = []
    for invoice, entry in zip(invoices, new, strict=True):
        invoice._prefetched_lines = [
            line_from_draft(invoice=invoice, position=position, draft=draft, now=now)
            for position, draft in enumerate(entry.drafts)
        ]
        invoice._last_position = len(entry.drafts) - 1
        lines += invoice._prefetched_lines
    Invoice.objects.bulk_create(invoices)
    bulk_insert(lines)
    for invoice, entry in zip(invoices, new, strict=True):
        if entry.items:
            InvoiceItem.objects.filter(pk__in=[item.pk for item in entry.items]).update(
                invoice=invoice
            )
    batch = events or EventBatch()
    for invoice in invoices:
        batch.emit("invoice.created", invoice)
    if events is None:
        batch.record()
    return invoices


def subscription_invoice_create(
    *,
    subscription: Subscription,
    billing_reason: str,
    period_start: datetime,
    period_end: datetime,
    drafts: Sequence[LineDraft],
    items: Sequence[InvoiceItem] = (),
    now: datetime,
    finalize_at: datetime | None,
) -> Invoice:
    """Write a draft invoice of the subscription with ``drafts`` as its lines.

    ``items`` are the pending invoice items among ``drafts``; they are attached to
    the invoice. Emits ``invoice.created``.
    """
    (invoice,) = subscription_invoices_create(
        new=[
            NewInvoice(
                subscription=subscription,
                billing_reason=billing_reason,
                period_start=period_start,
                period_end=period_end,
                drafts=drafts,
                finalize_at=finalize_at,
                items=items,
            )
        ],
        now=now,
    )
    return invoice


def pending_drafts(items: Sequence[InvoiceItem]) -> list[LineDraft]:
    return [invoice_item_draft(item) for item in items]


def period_share(subscription: Subscription, start: datetime, end: datetime):
    """The share of a full billing period that ``[start, end)`` covers (exact)."""
    full_start, full_end = period_containing(cycle_of(subscription), start)
    return fraction(start, end, full_start, full_end)


def proration_item_create(
    *,
    subscription: Subscription,
    item: SubscriptionItem,
    quantity: int,
    start: datetime,
    end: datetime,
    credit: bool,
    now: datetime,
) -> InvoiceItem | None:
    """A pending proration: unused time (credit) or remaining time (charge).

    The amount is the price of ``quantity`` seats for a full period times the share
    of that period ``[start, end)`` covers, exact, rounded once.
    """
    if start >= end or quantity == 0:
        return None
    price = item.price
    share = period_share(subscription, start, end)
    priced = amounts.licensed_amount(spec_of(price), quantity, share)
    if priced.amount == 0:
        return None
    product = price.product.name
    if credit:
        text = descriptions.unused_time_line(product, quantity, start)
    else:
        text = descriptions.remaining_time_line(product, quantity, start)
    sign = -1 if credit else 1
    unit = priced.unit_amount_decimal
    item_row = InvoiceItem.objects.create(
        customer_id=subscription.customer_id,
        subscription=subscription,
        subscription_item_id=item.pk,
        test_clock_id=subscription.test_clock_id,
        amount=sign * priced.amount,
        currency=price.currency,
        description=text,
        date=now,
        period_start=start,
        period_end=end,
        price=price,
        quantity=Decimal(quantity),
        unit_amount_decimal=-unit if credit and unit else unit,
        proration=True,
        discountable=False,
        created=now,
        livemode=subscription.livemode,
    )
    emit("invoiceitem.created", item_row)
    return item_row


def usage_item_create(
    *,
    subscription: Subscription,
    draft: LineDraft,
    now: datetime,
) -> InvoiceItem | None:
    """A pending item billing usage of a metered item that is removed or replaced."""
    if draft.quantity == 0 and draft.amount == 0:
        return None
    item_row = InvoiceItem.objects.create(
        customer_id=subscription.customer_id,
        subscription=subscription,
        subscription_item_id=draft.subscription_item_id,
        test_clock_id=subscription.test_clock_id,
        amount=draft.amount,
        currency=draft.currency,
        description=draft.description,
        date=now,
        period_start=draft.period_start,
        period_end=draft.period_end,
        price=draft.price,
        quantity=draft.quantity,
        unit_amount_decimal=draft.unit_amount_decimal,
        created=now,
        livemode=subscription.livemode,
    )
    emit("invoiceitem.created", item_row)
    return item_row
