"""Invariants of the allocation over random grants and lines (hypothesis)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from credits.allocation import (
    CreditableLine,
    GrantCandidate,
    allocate,
    application_order,
    grant_covers,
    grant_is_live,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
PRICES = ["price_a", "price_b", "price_c"]
CURRENCIES = ["usd", "eur"]

offsets = st.integers(min_value=-5, max_value=5).map(lambda d: NOW + timedelta(days=d))

grants = st.builds(
    GrantCandidate,
    id=st.uuids().map(lambda u: f"credgr_{u.hex[:8]}"),
    currency=st.sampled_from(CURRENCIES),
    balance=st.integers(min_value=0, max_value=5000),
    priority=st.sampled_from([0, 10, 50, 50, 100]),
    category=st.sampled_from(["paid", "promotional"]),
    effective_at=offsets,
    expires_at=st.none() | offsets,
    created=offsets,
    prices=st.none() | st.frozensets(st.sampled_from(PRICES), min_size=1),
    voided=st.booleans(),
)

lines = st.builds(
    CreditableLine,
    line_id=st.uuids().map(lambda u: f"il_{u.hex[:8]}"),
    price_id=st.none() | st.sampled_from(PRICES),
    metered=st.booleans(),
    currency=st.sampled_from(CURRENCIES),
    amount=st.integers(min_value=-100, max_value=4000),
)


@settings(max_examples=400)
@given(
    grant_list=st.lists(grants, max_size=6, unique_by=lambda g: g.id),
    line_list=st.lists(lines, max_size=6, unique_by=lambda line: line.line_id),
)
def test_allocation_invariants(grant_list, line_list):
    applied = allocate(grants=grant_list, lines=line_list, now=NOW)
    by_id = {g.id: g for g in grant_list}
    by_line = {line.line_id: line for line in line_list}
    used = defaultdict(int)
    covered = defaultdict(int)
    for allocation in applied:
        grant, line = by_id[allocation.credit_grant_id], by_line[allocation.line_id]
        assert allocation.amount > 0
        assert grant_is_live(grant, NOW)
        assert grant_covers(grant, line)
        used[grant.id] += allocation.amount
        covered[line.line_id] += allocation.amount

    # No grant spends more than it has; no line is paid more than its amount.
    assert all(used[g] <= by_id[g].balance for g in used)
    assert all(covered[li] <= by_line[li].amount for li in covered)
    # One allocation per (grant, line): one debit each.
    pairs = [(a.credit_grant_id, a.line_id) for a in applied]
    assert len(pairs) == len(set(pairs))

    eligible_lines = sum(
        line.amount
        for line in line_list
        if any(grant_covers(g, line) and grant_is_live(g, NOW) for g in grant_list)
    )
    balances = sum(g.balance for g in grant_list if grant_is_live(g, NOW))
    assert sum(a.amount for a in applied) <= min(eligible_lines, balances)

    # Order: a grant pays part of a line only when every grant before it that
    # covers the line is exhausted; a line left unpaid means every covering grant
    # is exhausted.
    for line in line_list:
        covering = sorted(
            (
                g
                for g in grant_list
                if g.balance > 0 and grant_is_live(g, NOW) and grant_covers(g, line)
            ),
            key=application_order,
        )
        paying = {a.credit_grant_id for a in applied if a.line_id == line.line_id}
        for index, grant in enumerate(covering):
            if grant.id in paying:
                for earlier in covering[:index]:
                    assert used[earlier.id] == earlier.balance
        if covering and covered[line.line_id] < line.amount:
            assert all(used[g.id] == g.balance for g in covering)
