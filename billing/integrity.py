"""The books, re-added: figures a restore (or anything else) must not change.

``books_figures`` reads, from one database, every invoice's stored totals beside
the sum of its lines, every credit grant's cached balance beside the sum of its
ledger, and every customer's balance; ``books_problems`` lists where a stored
figure disagrees with what it sums. ``manage.py check_books`` runs both, e.g. after
restoring a backup (docs/operations.md); a backup test compares two databases.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Case, F, Sum, When

from billing.models import Invoice
from core.models import Customer
from credits.models import CreditBalanceTransaction, CreditGrant


@dataclass(frozen=True)
class Books:
    """Minor units, by object id."""

    # id -> (status, subtotal, total, amount_due, starting_balance, Σ line amounts)
    invoices: dict[str, tuple] = field(default_factory=dict)
    # id -> (cached balance, Σ credits − Σ debits of its ledger)
    grants: dict[str, tuple[int, int]] = field(default_factory=dict)
    # customer id -> balance
    customers: dict[str, int] = field(default_factory=dict)


def books_figures(*, using: str = "default") -> Books:
    """Read the figures of every mode (a backup holds both)."""
    invoices = {
        row["id"]: (
            row["status"],
            row["subtotal"],
            row["total"],
            row["amount_due"],
            row["starting_balance"],
            row["lines_sum"] or 0,
        )
        for row in Invoice._base_manager.using(using)
        .annotate(lines_sum=Sum("lines__amount"))
        .values(
            "id",
            "status",
            "subtotal",
            "total",
            "amount_due",
            "starting_balance",
            "lines_sum",
        )
    }
    signed = Case(
        When(type=CreditBalanceTransaction.Type.CREDIT, then=F("amount")),
        default=-F("amount"),
    )
    ledger = dict(
        CreditBalanceTransaction._base_manager.using(using)
        .values("credit_grant_id")
        .annotate(net=Sum(signed))
        .values_list("credit_grant_id", "net")
    )
    grants = {
        grant_id: (balance, ledger.get(grant_id, 0))
        for grant_id, balance in CreditGrant._base_manager.using(using).values_list(
            "id", "balance"
        )
    }
    customers = dict(Customer._base_manager.using(using).values_list("id", "balance"))
    return Books(invoices=invoices, grants=grants, customers=customers)


def books_problems(books: Books) -> list[str]:
    """Where a stored figure is not what its parts add up to."""
    problems = []
    for invoice_id, (status, subtotal, total, due, start, lines) in sorted(
        books.invoices.items()
    ):
        if subtotal != lines:
            problems.append(f"{invoice_id}: subtotal {subtotal} != lines {lines}")
        if status != Invoice.Status.DRAFT and due != max(total + start, 0):
            problems.append(
                f"{invoice_id}: amount_due {due} != total {total} + balance {start}"
            )
    for grant_id, (balance, ledger) in sorted(books.grants.items()):
        if balance != ledger:
            problems.append(f"{grant_id}: balance {balance} != ledger sum {ledger}")
        if balance < 0:
            problems.append(f"{grant_id}: balance {balance} below zero")
    return problems
