"""The commitment step on a written (or previewed) invoice: read the terms, run
``billing.compose.commitment``, keep the lines in step with the draft.

Only a cycle invoice (or the upcoming one), or the final invoice of a
subscription cancelled mid-period, of a subscription flagged
``has_commitments`` reads anything: the flag comes with the subscription row that
finalization and previews load anyway, so every other invoice costs no query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from django.db.models import Q

from billing.compose.commitment import (
    INVOICE_ITEM,
    LICENSED,
    TRUE_UP,
    USAGE_KINDS,
    CommitmentTerms,
    apply_commitment,
    prorated_minimum,
)
from billing.compose.draft import InvoiceDraft
from billing.compose.rows import cycle_of
from billing.models import Commitment, Invoice, InvoiceLineItem, Subscription
from billing.periods import period_containing
from billing.services.persist import line_from_draft

# Invoices that bill a period's usage: the cycle invoice, and its preview.
_PERIOD_REASONS = ("subscription_cycle", "upcoming")


def _final(invoice: Invoice, sub: Subscription) -> bool:
    """Whether the invoice is the final one of a subscription ended mid-period."""
    return (
        invoice.billing_reason == Invoice.BillingReason.SUBSCRIPTION_UPDATE
        and sub.status == Subscription.Status.CANCELED
        and sub.ended_at is not None
        and invoice.period_end == sub.ended_at
    )


def _paid_from(sub: Subscription, start: datetime) -> datetime:
    """Where the paid service of a period starting at ``start`` begins: a trial owes
    no minimum, so a period the trial's end cuts is prorated like a late term."""
    if sub.trial_end is not None and start < sub.trial_end:
        return sub.trial_end
    return start


def _window(invoice: Invoice, sub: Subscription):
    """(service start, service end, end of the period whose spend counts), or None
    for an invoice that meets no minimum."""
    start = _paid_from(sub, invoice.period_start)
    if invoice.billing_reason in _PERIOD_REASONS:
        return start, invoice.period_end, invoice.period_end
    if _final(invoice, sub):
        end = max(sub.current_period_end, invoice.period_end)
        return start, invoice.period_end, end
    return None


def minimums_during(
    subscription_id: str, start: datetime, end: datetime
) -> list[Commitment]:
    """The live minimum-spend commitments whose term meets ``[start, end)``."""
    if start >= end:
        return []
    return list(
        Commitment.objects.filter(
            subscription_id=subscription_id,
            type=Commitment.Type.MINIMUM_SPEND,
            voided_at__isnull=True,
            term_start__lt=end,
        )
        .filter(Q(term_end__isnull=True) | Q(term_end__gt=start))
        .order_by("term_start", "pk")
    )


def commitment_terms(invoice: Invoice) -> CommitmentTerms | None:
    """The minimum-spend terms the invoice's period meets; None without (no query
    unless the subscription has commitments).

    A cycle invoice (or its preview) meets the minimum of its period; the final
    invoice of a subscription cancelled mid-period meets the share its
    commitment's ``proration`` asks for. Terms that cut the period short (two
    terms meeting inside it each owe their share) are prorated alike.
    """
    if invoice.subscription_id is None:
        return None
    sub = invoice.subscription
    if not sub.has_commitments:
        return None
    window = _window(invoice, sub)
    if window is None:
        return None
    start, end, counted_end = window
    commitments = minimums_during(sub.pk, start, end)
    if not commitments:
        return None
    full_start, full_end = period_containing(cycle_of(sub), invoice.period_start)
    minimum, prorated, covered = 0, False, []
    for commitment in commitments:
        part = (
            max(start, commitment.term_start),
            min(end, commitment.term_end or end),
        )
        owed, cut = prorated_minimum(
            amount=commitment.amount,
            proration=commitment.proration,
            full_start=full_start,
            full_end=full_end,
            start=part[0],
            end=part[1],
        )
        minimum, prorated = minimum + owed, prorated or cut
        covered.append(part)
    latest = commitments[-1]
    return CommitmentTerms(
        commitment_id=latest.pk,
        subscription_id=sub.pk,
        minimum=minimum,
        period_start=invoice.period_start,
        period_end=counted_end,
        billed_before=_billed_before(
            invoice, invoice.period_start, counted_end, latest.spend_scope
        ),
        description=latest.description or "Minimum spend true-up",
        spend_scope=latest.spend_scope,
        line_start=min(part[0] for part in covered) if prorated else None,
        line_end=max(part[1] for part in covered) if prorated else None,
        prorated=prorated,
    )


def _spend_kinds(scope: str) -> Q:
    """The lines that count towards a minimum of ``scope`` (as ``counts_as_spend``)."""
    kinds = Q(kind__in=USAGE_KINDS) | Q(
        kind=INVOICE_ITEM, price__recurring_usage_type="metered"
    )
    if scope == Commitment.SpendScope.ALL_CHARGES:
        kinds |= Q(kind=LICENSED) | Q(kind=INVOICE_ITEM, proration=True)
    return kinds


def _billed_before(invoice: Invoice, start: datetime, end: datetime, scope: str) -> int:
    """The period's spend, after discounts, on the subscription's other invoices
    that stand (threshold invoices of the period; with ``all_charges`` also the
    invoice that billed the period's licensed fees in advance)."""
    rows = (
        InvoiceLineItem.objects.filter(
            _spend_kinds(scope),
            subscription_id=invoice.subscription_id,
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


def minimum_owed_at_end(subscription: Subscription, at: datetime) -> bool:
    """Whether ending the subscription at ``at`` leaves a minimum to true up (so
    its final invoice is made even without usage or pending items)."""
    if not subscription.has_commitments:
        return False
    start = _paid_from(subscription, subscription.current_period_start)
    return bool(minimums_during(subscription.pk, start, at))


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
