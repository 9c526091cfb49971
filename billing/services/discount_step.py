"""The discount step on a written (or previewed) invoice: apply, record, spend.

``billing.compose.discount`` computes the amounts; this module gives the draft
its discounts (``invoice_discounts_of``), copies the result onto the invoice
(``discounts``, ``total_discount_amounts``) and its lines (``discount_amounts``),
and, at finalization, spends the ``once`` discounts that took something off:
a conditional UPDATE under the customer's lock (finalization holds it), so a
``once`` discount is spent on exactly one invoice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from billing.compose.discount import discount
from billing.compose.discount_rows import InvoiceDiscounts, invoice_discounts_collect
from billing.compose.draft import InvoiceDraft
from billing.models import Discount, Invoice, InvoiceLineItem


def invoice_discounts_of(invoice: Invoice, lines: Sequence) -> InvoiceDiscounts:
    """The discounts the invoice meets: preloaded by a chunk's collect, or read."""
    found = getattr(invoice, "_discounts", None)
    if found is None:
        found = invoice._discounts = invoice_discounts_collect(invoice, lines)
    return found


def discounts_record(
    invoice: Invoice, lines: Sequence[InvoiceLineItem], draft: InvoiceDraft
) -> None:
    """Each line's ``discount_amounts`` and the invoice's totals per discount."""
    by_line: dict[int, list[dict]] = {}
    totals: dict[str, int] = {}
    for allocation in draft.discount_allocations:
        by_line.setdefault(allocation.line, []).append(
            {"amount": allocation.amount, "discount": allocation.discount_id}
        )
        totals[allocation.discount_id] = (
            totals.get(allocation.discount_id, 0) + allocation.amount
        )
    for index, line in enumerate(lines):
        line.discount_amounts = by_line.get(index, [])
    item_level = {c.discount_id for c in draft.coupons if c.invoice_item_id}
    invoice.discounts = [
        c.discount_id for c in draft.coupons if c.discount_id not in item_level
    ]
    invoice.total_discount_amounts = [
        {"amount": amount, "discount": discount_id}
        for discount_id, amount in totals.items()
    ]


def invoice_discount_step(
    *, invoice: Invoice, lines: Sequence[InvoiceLineItem], draft: InvoiceDraft
) -> InvoiceDraft:
    """Run the discount step on the invoice's draft and record what it took off."""
    draft = discount(draft)
    discounts_record(invoice, lines, draft)
    return draft


def once_discounts_spend(
    *, invoice: Invoice, draft: InvoiceDraft, found: InvoiceDiscounts
) -> set[str]:
    """Spend on ``invoice`` the ``once`` discounts that took something off."""
    used = {a.discount_id for a in draft.discount_allocations if a.amount > 0}
    spent = set()
    for discount_id in sorted(used & found.once):
        taken = Discount.objects.filter(
            pk=discount_id, once_invoice__isnull=True
        ).update(once_invoice=invoice)
        if taken:
            spent.add(discount_id)
    return spent


def line_discount_total(lines: Iterable[InvoiceLineItem]) -> int:
    """Minor units the recorded discounts took off ``lines``."""
    return sum(entry["amount"] for line in lines for entry in line.discount_amounts)
