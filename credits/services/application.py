"""Applying credits to invoices: the contract the billing app calls.

Billing builds one ``CreditableLine`` per invoice line (amounts are the rounded line
amounts in integer minor units) and calls, inside its own finalization transaction::

    from credits.services import CreditableLine, credits_apply_to_invoice

    applications = credits_apply_to_invoice(
        customer_id=invoice.customer_id,
        invoice_id=invoice.id,
        lines=[
            CreditableLine(
                line_id=line.id,
                price_id=line.price_id,          # None for one-off items
                metered=price_is_metered,        # price.recurring.meter is set
                currency=invoice.currency,
                amount=line.amount,              # minor units
            )
            for line in invoice_lines
        ],
        now=finalized_at,
    )

Each ``CreditApplication`` is ``amount`` minor units of ``line_id`` paid from
``credit_grant_id`` by ledger row ``credit_balance_transaction_id``: billing stores
them as the line's ``pretax_credit_amounts`` (``type=credit_balance_transaction``),
sums them into ``total_pretax_credit_amounts`` and lowers ``total``/``amount_due``.
Calling it again for the same invoice returns the same applications and writes
nothing. ``credits_preview_for_invoice`` answers the same allocation without writing
(previews, "estimated credits"); ``credits_reinstate_for_invoice`` gives back what a
voided invoice consumed. Which grants pay which lines is ``credits.allocation``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from credits import selectors
from credits.allocation import CreditableLine, allocate
from credits.models import CreditBalanceTransaction, CreditGrant
from credits.services.ledger import (
    Kind,
    Status,
    grant_catch_up,
    grants_lock,
    ledger_moments,
    ledger_post,
)

__all__ = [
    "CreditApplication",
    "CreditReinstatement",
    "CreditableLine",
    "credits_apply_to_invoice",
    "credits_preview_for_invoice",
    "credits_reinstate_for_invoice",
]


@dataclass(frozen=True)
class CreditApplication:
    """``amount`` minor units of invoice line ``line_id`` paid from a grant."""

    line_id: str
    credit_grant_id: str
    credit_balance_transaction_id: str | None  # None in previews
    amount: int


@dataclass(frozen=True)
class CreditReinstatement:
    """``amount`` minor units given back to a grant when the invoice was voided."""

    line_id: str
    credit_grant_id: str
    credit_balance_transaction_id: str
    amount: int


def _currencies(lines: Sequence[CreditableLine]) -> set[str]:
    """The lines' currencies; refuses a line listed twice (a caller's bug)."""
    line_ids = [line.line_id for line in lines]
    if len(set(line_ids)) != len(line_ids):
        raise ValueError("each invoice line may be passed once")
    return {line.currency.lower() for line in lines}


def _as_application(entry: CreditBalanceTransaction) -> CreditApplication:
    return CreditApplication(
        line_id=entry.invoice_line_item,
        credit_grant_id=entry.credit_grant_id,
        credit_balance_transaction_id=entry.pk,
        amount=entry.amount,
    )


def _applied_before(
    invoice_id: str, lines: Sequence[CreditableLine]
) -> list[CreditApplication]:
    entries = CreditBalanceTransaction.objects.filter(
        invoice=invoice_id, kind=Kind.CREDITS_APPLIED
    ).order_by("created", "pk")
    position = {line.line_id: index for index, line in enumerate(lines)}
    applications = [_as_application(entry) for entry in entries]
    # Stable: within a line, the debits keep the order the grants applied in.
    return sorted(applications, key=lambda a: position.get(a.line_id, len(position)))


def credits_preview_for_invoice(
    *, customer_id: str, lines: Sequence[CreditableLine], now: datetime
) -> list[CreditApplication]:
    """Return the credits that would apply to these lines at ``now``; no writes."""
    grants = selectors.grant_candidates_query(
        customer_id=customer_id, currencies=_currencies(lines), now=now
    )
    candidates = [selectors.grant_candidate(grant, now=now) for grant in grants]
    return [
        CreditApplication(a.line_id, a.credit_grant_id, None, a.amount)
        for a in allocate(grants=candidates, lines=lines, now=now)
    ]


@transaction.atomic
def credits_apply_to_invoice(
    *,
    customer_id: str,
    invoice_id: str,
    lines: Sequence[CreditableLine],
    now: datetime,
) -> list[CreditApplication]:
    """Apply the customer's credits to the invoice's lines; one debit per (grant, line).

    Locks the candidate grants in primary-key order, so two invoices of the same
    customer finalizing at once take turns and never spend the same credits.
    """
    previous = _applied_before(invoice_id, lines)
    if previous:
        return previous
    grants = grants_lock(
        selectors.grant_candidates_query(
            customer_id=customer_id, currencies=_currencies(lines), now=now
        )
    )
    for grant in grants:
        grant_catch_up(grant=grant, now=now)
    by_id = {grant.pk: grant for grant in grants}
    candidates = [selectors.grant_candidate(grant, now=now) for grant in grants]
    applications = []
    moments = ledger_moments(grants, now)
    for allocation in allocate(grants=candidates, lines=lines, now=now):
        entry = ledger_post(
            grant=by_id[allocation.credit_grant_id],
            kind=Kind.CREDITS_APPLIED,
            amount=allocation.amount,
            now=next(moments),
            effective_at=now,
            invoice=invoice_id,
            invoice_line_item=allocation.line_id,
        )
        applications.append(_as_application(entry))
    return applications


_END_KIND = {
    Status.EXPIRED: Kind.CREDITS_EXPIRED,
    Status.VOIDED: Kind.CREDITS_VOIDED,
}


def _reinstate(
    grant: CreditGrant,
    debit: CreditBalanceTransaction,
    now: datetime,
    moments: Iterator[datetime],
) -> CreditBalanceTransaction:
    """Give a debit back; a grant that has ended loses it again at once."""
    line = debit.invoice_line_item
    entry = ledger_post(
        grant=grant,
        kind=Kind.CREDITS_APPLICATION_INVOICE_VOIDED,
        amount=debit.amount,
        now=next(moments),
        effective_at=now,
        invoice=debit.invoice,
        invoice_line_item=line,
    )
    if grant.status in _END_KIND:
        # The ledger keeps both sides: the credits come back, then end with the
        # grant (keyed by the line, so this too happens once).
        ledger_post(
            grant=grant,
            kind=_END_KIND[grant.status],
            amount=debit.amount,
            now=next(moments),
            effective_at=now,
            invoice=debit.invoice,
            invoice_line_item=line,
        )
    return entry


@transaction.atomic
def credits_reinstate_for_invoice(
    *, invoice_id: str, now: datetime
) -> list[CreditReinstatement]:
    """Give back every credit the voided invoice consumed; reruns add nothing.

    One ``credits_application_invoice_voided`` credit per ``credits_applied`` debit
    of the invoice, for exactly the debited amount.
    """
    debits = list(
        CreditBalanceTransaction.objects.filter(
            invoice=invoice_id, kind=Kind.CREDITS_APPLIED
        ).order_by("created", "pk")
    )
    grants = {
        grant.pk: grant
        for grant in grants_lock({debit.credit_grant_id for debit in debits})
    }
    for grant in grants.values():
        grant_catch_up(grant=grant, now=now)
    moments = ledger_moments(grants.values(), now)
    done = {
        (entry.credit_grant_id, entry.invoice_line_item): entry
        for entry in CreditBalanceTransaction.objects.filter(
            invoice=invoice_id, kind=Kind.CREDITS_APPLICATION_INVOICE_VOIDED
        )
    }
    reinstated = []
    for debit in debits:
        entry = done.get((debit.credit_grant_id, debit.invoice_line_item))
        if entry is None:
            entry = _reinstate(grants[debit.credit_grant_id], debit, now, moments)
        reinstated.append(
            CreditReinstatement(
                line_id=entry.invoice_line_item,
                credit_grant_id=entry.credit_grant_id,
                credit_balance_transaction_id=entry.pk,
                amount=entry.amount,
            )
        )
    return reinstated
