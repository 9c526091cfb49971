"""Persist: write what the pipeline composed, once, in bulk.

``subscription_invoices_create`` writes a chunk's draft invoices, their lines
and the pending items they take in three inserts; ``lines_create`` appends
lines to a draft. Nothing here prices: amounts come from ``billing.compose``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from billing.compose.draft import DraftLine, InvoiceDraft
from billing.models import Invoice, InvoiceItem, InvoiceLineItem, Subscription
from billing.services.discount_step import invoice_discounts_of
from billing.services.events import EventBatch
from billing.taxes.invoices import TaxContext, draft_tax_inputs, tax_context_for
from core.bulk import bulk_insert, new_row
from core.services.balance import balance_for_invoice


@dataclass(frozen=True)
class NewInvoice:
    """A draft invoice of a subscription to write: its lines and pending items."""

    subscription: Subscription
    billing_reason: str
    period_start: datetime
    period_end: datetime
    drafts: Sequence[DraftLine]
    finalize_at: datetime | None
    items: Sequence[InvoiceItem] = ()


def _draft_invoice(new: NewInvoice, now: datetime) -> Invoice:
    subscription, customer = new.subscription, new.subscription.customer
    subtotal = sum(draft.amount for draft in new.drafts)
    return new_row(
        Invoice,
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
        default_tax_rates=list(subscription.default_tax_rates),
        customer_tax_exempt=customer.tax_exempt,
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
    bulk_insert(invoices)
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
    drafts: Sequence[DraftLine],
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


def lines_create(
    *, invoice: Invoice, drafts: Iterable[DraftLine], now: datetime
) -> list[InvoiceLineItem]:
    """Append ``drafts`` to a draft invoice, after its existing lines."""
    last = getattr(invoice, "_last_position", None)
    if last is None:
        last = (
            invoice.lines.order_by("-position")
            .values_list("position", flat=True)
            .first()
        )
        last = -1 if last is None else last
    rows = [
        line_from_draft(invoice=invoice, position=position, draft=draft, now=now)
        for position, draft in enumerate(drafts, start=last + 1)
    ]
    if rows:
        InvoiceLineItem.objects.bulk_create(rows)
        invoice._last_position = rows[-1].position
    return rows


def line_from_draft(
    *, invoice: Invoice, position: int, draft: DraftLine, now: datetime
) -> InvoiceLineItem:
    """An (unsaved) line of ``invoice`` made from ``draft``."""
    return new_row(
        InvoiceLineItem,
        invoice=invoice,
        position=position,
        kind=draft.kind,
        amount=draft.amount,
        currency=draft.currency,
        description=draft.description,
        period_start=draft.period_start,
        period_end=draft.period_end,
        price=draft.price,
        quantity=draft.quantity,
        unit_amount_decimal=draft.unit_amount_decimal,
        subscription_id=draft.subscription_id,
        subscription_item_id=draft.subscription_item_id,
        invoice_item_id=draft.invoice_item_id,
        proration=draft.proration,
        proration_details=draft.proration_details,
        discountable=draft.discountable,
        metadata=draft.metadata,
        tax_rates=list(draft.tax_rates),
        created=now,
        livemode=invoice.livemode,
    )


def draft_of_line(line: InvoiceLineItem) -> DraftLine:
    """The pipeline's view of a written line (finalization and previews of drafts)."""
    return DraftLine(
        kind=line.kind,
        amount=line.amount,
        currency=line.currency,
        description=line.description,
        period_start=line.period_start,
        period_end=line.period_end,
        price=line.price if line.price_id else None,
        quantity=line.quantity,
        unit_amount_decimal=line.unit_amount_decimal,
        subscription_id=line.subscription_id,
        subscription_item_id=line.subscription_item_id,
        invoice_item_id=line.invoice_item_id,
        proration=line.proration,
        proration_details=line.proration_details,
        discountable=line.discountable,
        metadata=line.metadata,
        tax_rates=tuple(line.tax_rates),
    )


def invoice_draft_of(
    invoice: Invoice,
    lines: Sequence[InvoiceLineItem],
    *,
    now: datetime,
    taxes: TaxContext | None = None,
) -> InvoiceDraft:
    """A rated draft of ``invoice`` made of its lines, for the steps after ``rate``,
    with the discounts it meets (``billing.services.discount_step``).

    ``taxes`` holds the rates a batch's lines apply; without it they are read
    (no query when no line applies a rate).
    """
    if taxes is None:
        taxes = tax_context_for(
            invoices=[invoice], lines={invoice.pk: lines}, tax_ids=False
        )
    return InvoiceDraft(
        customer_id=invoice.customer_id,
        currency=invoice.currency,
        lines=tuple(draft_of_line(line) for line in lines),
        now=now,
        customer_balance=balance_for_invoice(invoice.customer, invoice.currency),
        coupons=invoice_discounts_of(invoice, lines).candidates,
        **draft_tax_inputs(invoice, invoice.customer, taxes),
    )


def invoice_totals_set(invoice: Invoice, draft: InvoiceDraft) -> None:
    """Copy what the pipeline's steps computed onto an unfinalized invoice."""
    invoice.subtotal = draft.subtotal
    invoice.total = draft.total
    invoice.starting_balance = draft.starting_balance
    invoice.ending_balance = draft.ending_balance
    invoice.amount_due = draft.amount_due
    invoice.amount_remaining = draft.amount_due
    invoice.amount_paid = 0
