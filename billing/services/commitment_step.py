"""The commitment step on a written (or previewed) invoice: read the terms, run
``billing.compose.commitment``, keep the lines in step with the draft.

Only a cycle invoice (or the upcoming one) of a subscription flagged
``has_commitments`` reads anything: the flag comes with the subscription row that
finalization and previews load anyway, so every other invoice costs no query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from billing.compose.commitment import (
    TRUE_UP,
    USAGE_KINDS,
    CommitmentTerms,
    apply_commitment,
)
from billing.compose.draft import InvoiceDraft
from billing.models import Commitment, Invoice, InvoiceLineItem
from billing.services.persist import line_from_draft

# Invoices that bill a period's usage: the cycle invoice, and its preview.
_PERIOD_REASONS = ("subscription_cycle", "upcoming")


def commitment_terms(invoice: Invoice) -> CommitmentTerms | None:
    """The minimum-spend terms the invoice's period meets; None without (no query
    unless the subscription has commitments)."""
    if invoice.subscription_id is None or invoice.billing_reason not in _PERIOD_REASONS:
        return None
    sub = invoice.subscription
    if not sub.has_commitments:
        return None
    start, end = invoice.period_start, invoice.period_end
    commitment = (
        Commitment.objects.filter(
            subscription_id=sub.pk,
            type=Commitment.Type.MINIMUM_SPEND,
            voided_at__isnull=True,
            term_start__lte=start,
        )
        .exclude(term_end__lte=start)
        .order_by("-term_start")
        .first()
    )
    if commitment is None:
        return None
    return CommitmentTerms(
        commitment_id=commitment.pk,
        subscription_id=sub.pk,
        minimum=commitment.amount,
        period_start=start,
        period_end=end,
        billed_before=_billed_before(invoice, start, end),
        description=commitment.description or "Minimum spend true-up",
    )


def _billed_before(invoice: Invoice, start: datetime, end: datetime) -> int:
    """The period's usage, after discounts, on the subscription's other invoices
    that stand (threshold invoices of the period)."""
    rows = (
        InvoiceLineItem.objects.filter(
            subscription_id=invoice.subscription_id,
            kind__in=USAGE_KINDS,
            period_start__gte=start,
            period_end__lte=end,
        )
        .exclude(invoice_id=invoice.pk)
        .exclude(invoice__status=Invoice.Status.VOID)
        .values_list("amount", "discount_amounts")
    )
    return sum(
        amount - sum(entry["amount"] for entry in discounts or ())
        for amount, discounts in rows
    )


def invoice_commitment_step(
    *,
    invoice: Invoice,
    lines: list[InvoiceLineItem],
    draft: InvoiceDraft,
    now: datetime,
    persist: bool,
) -> InvoiceDraft:
    """Run the commitment step on the invoice's draft; ``lines`` follow it.

    A new true-up line is appended to ``lines`` (and written when ``persist``);
    a true-up written before gets its new amount.
    """
    terms = commitment_terms(invoice)
    if terms is None:
        return draft
    draft = apply_commitment(replace(draft, commitment=terms))
    for index, shaped in enumerate(draft.lines):
        if shaped.kind != TRUE_UP:
            continue
        if index < len(lines):
            line = lines[index]
            if line.amount != shaped.amount:
                line.amount = shaped.amount
                if persist:
                    line.save(update_fields=["amount"])
        else:
            position = max((line.position for line in lines), default=-1) + 1
            line = line_from_draft(
                invoice=invoice, position=position, draft=shaped, now=now
            )
            if persist:
                line.save(force_insert=True)
            lines.append(line)
    return draft


def true_up_lines(lines: Sequence[InvoiceLineItem]) -> list[InvoiceLineItem]:
    return [line for line in lines if line.kind == TRUE_UP]
