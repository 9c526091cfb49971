"""The commitment step alone (pure): what counts towards the minimum, the true-up
to the cent, and its invariants over random drafts (hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.compose.commitment import (
    TRUE_UP,
    CommitmentTerms,
    apply_commitment,
    counts_as_spend,
    period_spend,
    prorated_minimum,
)
from billing.compose.draft import DraftLine, InvoiceDraft

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
APR15 = datetime(2026, 4, 15, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
JUN1 = datetime(2026, 6, 1, tzinfo=UTC)
TERMS = CommitmentTerms(
    commitment_id="bcmt_1",
    subscription_id="sub_1",
    minimum=10_000,
    period_start=APR1,
    period_end=MAY1,
)


def line(amount, *, kind="metered", sub="sub_1", start=APR1, end=MAY1) -> DraftLine:
    return DraftLine(
        kind=kind,
        amount=amount,
        currency="usd",
        description="Tokens",
        period_start=start,
        period_end=end,
        subscription_id=sub,
    )


def draft(lines, discounts=(), terms=TERMS) -> InvoiceDraft:
    return InvoiceDraft(
        customer_id="cus_1",
        currency="usd",
        lines=tuple(lines),
        now=MAY1,
        discounts=tuple(discounts),
        commitment=terms,
    )


def test_without_terms_nothing_changes():
    plain = draft([line(100)], terms=None)
    assert apply_commitment(plain) is plain


def test_only_the_periods_usage_of_the_subscription_counts():
    lines = [
        line(1_000),  # counts
        line(2_000, start=APR15),  # an item added mid-period: counts
        line(4_000, kind="licensed", start=MAY1, end=JUN1),  # in advance: no
        line(8_000, kind="invoice_item"),  # a one-off: no
        line(16_000, sub="sub_2"),  # another subscription: no
        line(500, kind="late_usage", start=datetime(2026, 3, 1, tzinfo=UTC), end=APR1),
    ]
    composed = apply_commitment(draft(lines, discounts=[(1, 300)]))
    assert period_spend(composed, TERMS) == 1_000 + 2_000 - 300
    added = composed.lines[-1]
    assert (added.kind, added.amount, added.discountable) == (TRUE_UP, 7_300, False)
    assert (added.period_start, added.period_end) == (APR1, MAY1)
    assert added.metadata == {"commitment": "bcmt_1"}


def test_earlier_invoices_of_the_period_count():
    terms = replace(TERMS, billed_before=9_000)
    composed = apply_commitment(draft([line(600)], terms=terms))
    assert composed.lines[-1].amount == 400


def test_a_written_true_up_is_set_afresh_not_added_twice():
    written = [line(3_000), replace(line(7_000), kind=TRUE_UP)]
    composed = apply_commitment(draft([line(9_500), written[1]]))
    assert [entry.amount for entry in composed.lines] == [9_500, 500]
    over = apply_commitment(draft([line(12_000), written[1]]))
    assert [entry.amount for entry in over.lines] == [12_000, 0]


amounts = st.integers(min_value=0, max_value=50_000)


@given(
    usage=st.lists(amounts, max_size=6),
    others=st.lists(amounts, max_size=3),
    minimum=st.integers(min_value=1, max_value=100_000),
    before=st.integers(min_value=0, max_value=30_000),
    data=st.data(),
)
def test_the_period_reaches_exactly_the_minimum_or_stays_as_it_was(
    usage, others, minimum, before, data
):
    lines = [line(amount) for amount in usage]
    lines += [line(amount, kind="invoice_item") for amount in others]
    discounts = [
        (index, data.draw(st.integers(min_value=0, max_value=lines[index].amount)))
        for index in range(len(usage))
    ]
    terms = replace(TERMS, minimum=minimum, billed_before=before)
    start = draft(lines, discounts, terms)
    spent = period_spend(start, terms)
    composed = apply_commitment(start)
    true_up = sum(entry.amount for entry in composed.lines if entry.kind == TRUE_UP)
    assert true_up == max(0, minimum - spent)
    assert spent + true_up == max(minimum, spent)
    # The lines before it are untouched (the discount step's indexes hold).
    assert composed.lines[: len(lines)] == tuple(lines)
    # Running the step again changes nothing.
    assert apply_commitment(composed) == composed


PRORATION_TABLE = [
    # (proration, part start, part end, owed, prorated) of $100.00 in April.
    ("first_and_last", APR1, MAY1, 10_000, False),
    ("first_and_last", APR15, MAY1, 5_333, True),  # 16 of 30 days
    ("first_and_last", APR1, APR15, 4_667, True),  # 14 of 30 days
    ("first", APR15, MAY1, 5_333, True),
    ("first", APR1, APR15, 10_000, False),
    ("last", APR15, MAY1, 10_000, False),
    ("last", APR1, APR15, 4_667, True),
    ("none", APR15, MAY1, 10_000, False),
    ("none", APR1, APR15, 10_000, False),
    ("first_and_last", APR15, APR15, 0, True),
    ("first", APR15, datetime(2026, 4, 20, tzinfo=UTC), 5_333, True),
]


@pytest.mark.parametrize(("proration", "start", "end", "owed", "cut"), PRORATION_TABLE)
def test_prorated_minimum(proration, start, end, owed, cut):
    assert prorated_minimum(
        amount=10_000,
        proration=proration,
        full_start=APR1,
        full_end=MAY1,
        start=start,
        end=end,
    ) == (owed, cut)


@pytest.mark.parametrize(
    ("kind", "proration", "usage", "all_charges"),
    [
        ("metered", False, True, True),
        ("late_usage", False, True, True),
        ("licensed", False, False, True),
        ("invoice_item", True, False, True),  # a seat proration
        ("invoice_item", False, False, False),  # a one-off charge
        ("true_up", False, False, False),
    ],
)
def test_what_counts_as_spend(kind, proration, usage, all_charges):
    shaped = replace(line(100, kind=kind), proration=proration)
    assert counts_as_spend(shaped, "usage") is usage
    assert counts_as_spend(shaped, "all_charges") is all_charges


def test_the_prorated_true_up_line_keeps_its_own_period():
    terms = replace(
        TERMS, minimum=5_000, line_start=APR15, line_end=MAY1, prorated=True
    )
    shaped = apply_commitment(draft([line(1_000)], terms=terms))
    true_up = shaped.lines[-1]
    assert (true_up.amount, true_up.proration) == (4_000, True)
    assert (true_up.period_start, true_up.period_end) == (APR15, MAY1)
