"""Which credit grants pay which invoice lines: a pure function, no ORM, no clock.

Rules (DESIGN.md "Credits", API.md §20.6):

- A line can take credits only if its price is metered (``recurring.meter``), its
  amount is positive, and it is in the grant's currency. Licensed prices and one-off
  items never consume credits.
- A grant can pay a line when it is *live* at ``now`` and its scope covers the line:
  ``price_type=metered`` covers every metered line; a ``prices`` list covers the
  metered lines whose price is listed.
- Live at ``now`` means: ``effective_at <= now`` (a grant becoming effective exactly at
  ``now`` is usable), ``now < expires_at`` (a grant expiring exactly at ``now`` is
  already expired: validity is the half-open ``[effective_at, expires_at)``), not
  voided, and a positive balance.
- Grants are used in this order: ``priority`` ascending (0 first), then the soonest
  ``expires_at`` (never-expiring last), then promotional before paid, then earlier
  ``effective_at``, then earlier ``created``, then the id (so the order is total).
- Lines are taken in invoice order; for each line the grants, in that order, each
  cover as much of what is left of the line as their remaining balance allows. So a
  later grant pays part of a line only when every earlier grant that covers the line
  is exhausted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

PROMOTIONAL = "promotional"
_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class CreditableLine:
    """An invoice line as the credits app sees it; amounts in minor units."""

    line_id: str  # invoice line id ("il_…")
    price_id: str | None  # the line's price; None for one-off amounts
    metered: bool  # the price has recurring.meter: only such lines take credits
    currency: str
    amount: int  # the line's rounded amount; credits never apply to amounts <= 0


@dataclass(frozen=True)
class GrantCandidate:
    """What the allocation needs to know about a grant; ``balance`` in minor units."""

    id: str
    currency: str
    balance: int
    priority: int
    category: str  # "paid" | "promotional"
    effective_at: datetime
    expires_at: datetime | None  # None: never expires
    created: datetime
    prices: frozenset[str] | None = None  # None: every metered price
    voided: bool = False


@dataclass(frozen=True)
class Allocation:
    """``amount`` minor units of ``line_id`` paid from grant ``credit_grant_id``."""

    line_id: str
    credit_grant_id: str
    amount: int


def grant_is_live(grant: GrantCandidate, now: datetime) -> bool:
    """Return whether the grant can be applied at ``now`` (balance aside)."""
    if grant.voided or grant.effective_at > now:
        return False
    return grant.expires_at is None or now < grant.expires_at


def line_takes_credits(line: CreditableLine) -> bool:
    return line.metered and line.amount > 0


def grant_covers(grant: GrantCandidate, line: CreditableLine) -> bool:
    """Return whether the grant's currency and scope include the line."""
    if not line_takes_credits(line) or grant.currency != line.currency.lower():
        return False
    return grant.prices is None or line.price_id in grant.prices


def application_order(grant: GrantCandidate) -> tuple:
    """The sort key that puts grants in the order they are applied."""
    # Never-expiring grants sort after every expiring one on the flag; the
    # placeholder moment only keeps the tuple comparable.
    expiry = (1, _NEVER) if grant.expires_at is None else (0, grant.expires_at)
    return (
        grant.priority,
        *expiry,
        0 if grant.category == PROMOTIONAL else 1,
        grant.effective_at,
        grant.created,
        grant.id,
    )


def ordered_grants(
    grants: Iterable[GrantCandidate], now: datetime
) -> list[GrantCandidate]:
    """Return the grants live at ``now`` with a balance, in application order."""
    live = [g for g in grants if g.balance > 0 and grant_is_live(g, now)]
    return sorted(live, key=application_order)


def allocate(
    *,
    grants: Iterable[GrantCandidate],
    lines: Sequence[CreditableLine],
    now: datetime,
) -> list[Allocation]:
    """Return how much each grant pays of each line, in line then grant order."""
    order = ordered_grants(grants, now)
    left = {grant.id: grant.balance for grant in order}
    allocations: list[Allocation] = []
    for line in lines:
        due = line.amount
        for grant in order:
            if due <= 0:
                break
            if left[grant.id] <= 0 or not grant_covers(grant, line):
                continue
            taken = min(due, left[grant.id])
            left[grant.id] -= taken
            due -= taken
            allocations.append(Allocation(line.line_id, grant.id, taken))
    return allocations
