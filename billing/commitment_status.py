"""Reads of commitments: lists, and how a prepaid one is drawn down.

A prepaid commitment's balance is what its paid grant has left after the usage not
invoiced yet (``credits.selectors.credit_balance_summary``, the real-time
burndown): the figure the next invoices will leave, to the cent. The burn rate is
what the term has used so far per day of the term elapsed; the projected run-out
date is when that rate would use up the balance, or None when it would not
before the term ends, nothing is used yet, or nothing is left (``exhausted``:
usage beyond it is billed at the rates).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import QuerySet

from billing.models import Commitment
from credits.selectors import credit_balance_summary

DAY = timedelta(days=1)


def commitment_list(*, filters: dict[str, Any]) -> QuerySet[Commitment]:
    """Commitments, newest first, by customer, subscription and type."""
    rows = Commitment.objects.select_related("credit_grant")
    for name in ("customer", "subscription", "type"):
        if filters.get(name):
            rows = rows.filter(**{name: filters[name]})
    return rows


@dataclass(frozen=True)
class Drawdown:
    """Where a prepaid commitment stands at ``now``; amounts in minor units."""

    amount: int
    balance: int  # left after the usage not invoiced yet
    used: int
    exhausted: bool
    days_elapsed: Decimal
    burn_rate: int  # per day, rounded half up
    projected_run_out: datetime | None
    term_end: datetime

    @property
    def used_percent(self) -> int:
        return round(100 * self.used / self.amount) if self.amount else 0


def _balance(commitment: Commitment, now: datetime) -> int:
    if commitment.credit_grant_id is None:
        return 0
    summaries = credit_balance_summary(
        customer_id=commitment.customer_id,
        now=now,
        credit_grant_id=commitment.credit_grant_id,
    )
    for summary in summaries:
        if summary.currency == commitment.currency:
            left = summary.after_unbilled_usage
            return max(0, summary.available if left is None else left)
    return 0


def drawdown_project(
    *, amount: int, balance: int, start: datetime, end: datetime, now: datetime
) -> Drawdown:
    """The burn rate and run-out date of ``amount`` with ``balance`` left at
    ``now`` over the term ``[start, end)`` (pure)."""
    used = amount - balance
    elapsed = min(max(now, start), end) - start
    days = Decimal(elapsed.total_seconds()) / Decimal(86400)
    run_out = None
    rate = Decimal(0)
    if used > 0 and days > 0:
        rate = Decimal(used) / days
        if balance > 0:
            moment = now + timedelta(seconds=float(balance / rate * 86400))
            run_out = moment if moment < end else None
    return Drawdown(
        amount=amount,
        balance=balance,
        used=used,
        exhausted=balance == 0,
        days_elapsed=days.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
        burn_rate=int(rate.quantize(Decimal(1), rounding=ROUND_HALF_UP)),
        projected_run_out=run_out.replace(microsecond=0) if run_out else None,
        term_end=end,
    )


def commitment_drawdown(commitment: Commitment, *, now: datetime) -> Drawdown | None:
    """How a prepaid commitment is drawn down at ``now``; None for a minimum or
    a voided commitment."""
    if commitment.type != Commitment.Type.PREPAID or commitment.voided_at:
        return None
    return drawdown_project(
        amount=commitment.amount,
        balance=_balance(commitment, now),
        start=commitment.term_start,
        end=commitment.term_end,
        now=now,
    )


def commitments_of(
    *, customer_id: str, subscription_id: str | None = None, now: datetime
) -> list[tuple[Commitment, Drawdown | None]]:
    """A customer's (or subscription's) commitments not void, with the drawdown
    of each prepaid one, newest term first (staff and customer pages)."""
    rows = Commitment.objects.filter(customer_id=customer_id, voided_at__isnull=True)
    if subscription_id is not None:
        rows = rows.filter(subscription_id=subscription_id)
    return [
        (commitment, commitment_drawdown(commitment, now=now))
        for commitment in rows.order_by("-term_start", "-id")
    ]
