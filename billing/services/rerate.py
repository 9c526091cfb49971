"""Finalization's rate step: usage lines re-rated with the usage known then.

A draft waits out the grace period; events that arrive meanwhile count. At
finalization each usage line whose period is over bills price(usage now) −
price(usage on the period's other lines), through the pipeline's ``rate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from billing.compose.collect import UsageReader, billed_usage_by_invoice
from billing.compose.rate import usage_draft
from billing.compose.rows import USAGE_KINDS, attach_prices
from billing.models import Invoice, InvoiceLineItem

REPRICED_FIELDS = ["quantity", "amount", "unit_amount_decimal", "description"]


def invoice_lines(invoice: Invoice) -> list[InvoiceLineItem]:
    """The invoice's lines in order, with prices, products and meters.

    Tiers are read once per price by ``spec_of`` (they never change).
    """
    return list(
        invoice.lines.select_related(
            "price__product", "price__recurring_meter"
        ).order_by("position")
    )


def lines_by_invoice(invoice_ids: Sequence[str]) -> dict[str, list[InvoiceLineItem]]:
    """The lines of many invoices (as ``invoice_lines``), in two queries."""
    found: dict[str, list[InvoiceLineItem]] = {pk: [] for pk in invoice_ids}
    rows = list(
        InvoiceLineItem.objects.filter(invoice_id__in=list(found)).order_by(
            "invoice_id", "position"
        )
    )
    attach_prices(rows)
    for line in rows:
        found[line.invoice_id].append(line)
    return found


def _usage_lines(lines: list[InvoiceLineItem], now: datetime):
    """Usage lines whose period is over: their usage is re-read at finalization."""
    return [
        line
        for line in lines
        if line.kind in USAGE_KINDS
        and line.subscription_item_id
        and line.price_id
        and line.period_end <= now
    ]


def usage_reprice(
    *,
    invoices: Sequence[Invoice],
    lines: dict[str, list[InvoiceLineItem]],
    now: datetime,
    usage: UsageReader,
) -> list[InvoiceLineItem]:
    """Price usage lines with the usage known now (late events in the grace period).

    Each line bills price(usage now) − price(usage on the period's other lines):
    what other invoices billed is read once for all ``invoices``. Returns the
    lines that changed.
    """
    targets = {invoice.pk: _usage_lines(lines[invoice.pk], now) for invoice in invoices}
    for invoice in invoices:
        for line in targets[invoice.pk]:
            usage.expect_price(
                line.price, invoice.customer_id, line.period_start, line.period_end
            )
    billed = billed_usage_by_invoice(
        keys={
            invoice_id: {
                (line.subscription_item_id, line.period_start) for line in rows
            }
            for invoice_id, rows in targets.items()
        }
    )
    changed = []
    for invoice in invoices:
        already = billed[invoice.pk]
        for line in targets[invoice.pk]:
            if _reprice(line, invoice.customer_id, usage, already):
                changed.append(line)
    return changed


def _reprice(line: InvoiceLineItem, customer_id: str, usage: UsageReader, already):
    """Price one usage line again; returns whether its amount or quantity moved."""
    total = usage.price_usage(
        line.price, customer_id, line.period_start, line.period_end
    )
    draft = usage_draft(
        price=line.price,
        subscription_id=line.subscription_id,
        subscription_item_id=line.subscription_item_id,
        start=line.period_start,
        end=line.period_end,
        total=total,
        already=already.get((line.subscription_item_id, line.period_start)),
        late=line.kind == InvoiceLineItem.Kind.LATE_USAGE,
    )
    if (draft.quantity, draft.amount) == (line.quantity, line.amount):
        return False
    line.quantity, line.amount = draft.quantity, draft.amount
    line.unit_amount_decimal = draft.unit_amount_decimal
    line.description = draft.description
    return True
