"""The pure allocation: eligibility, order and tie-breakers, greedy covering."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from credits.allocation import (
    Allocation,
    GrantCandidate,
    allocate,
    grant_is_live,
    ordered_grants,
)
from tests.credits.factories import line

NOW = datetime(2026, 6, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def grant(grant_id: str, balance: int = 1000, **kwargs) -> GrantCandidate:
    fields = {
        "id": grant_id,
        "currency": "usd",
        "balance": balance,
        "priority": 50,
        "category": "paid",
        "effective_at": NOW - 30 * DAY,
        "expires_at": None,
        "created": NOW - 30 * DAY,
        **kwargs,
    }
    return GrantCandidate(**fields)


def order_of(*grants: GrantCandidate) -> list[str]:
    return [g.id for g in ordered_grants(grants, NOW)]


# Each row: two grants that differ in one rule only; "first" must be applied first.
TIE_BREAKERS = [
    pytest.param(
        {"priority": 10}, {"priority": 20, "expires_at": NOW + DAY}, id="priority"
    ),
    pytest.param({"priority": 0}, {"priority": 100}, id="priority-extremes"),
    pytest.param(
        {"expires_at": NOW + DAY},
        {"expires_at": NOW + 2 * DAY},
        id="soonest-expiry",
    ),
    pytest.param({"expires_at": NOW + 300 * DAY}, {}, id="never-expiring-last"),
    pytest.param(
        {"category": "promotional"}, {"category": "paid"}, id="promotional-first"
    ),
    pytest.param(
        {"effective_at": NOW - 2 * DAY},
        {"effective_at": NOW - DAY},
        id="earlier-effective",
    ),
    pytest.param(
        {"created": NOW - 2 * DAY}, {"created": NOW - DAY}, id="earlier-created"
    ),
]


@pytest.mark.parametrize(("first", "second"), TIE_BREAKERS)
def test_each_rule_decides_the_order(first, second):
    # "a" sorts before "b" by id: name the grant that must win "z" so only the rule
    # under test can put it first.
    winner, loser = grant("z", **first), grant("a", **second)
    assert order_of(loser, winner) == ["z", "a"]
    applied = allocate(grants=[loser, winner], lines=[line("il_1", 1500)], now=NOW)
    assert applied == [Allocation("il_1", "z", 1000), Allocation("il_1", "a", 500)]


def test_rules_apply_in_order_priority_beats_everything_else():
    low_priority_but_better_otherwise = grant(
        "a",
        priority=60,
        expires_at=NOW + DAY,
        category="promotional",
        effective_at=NOW - 90 * DAY,
    )
    high_priority = grant("b", priority=40)
    assert order_of(low_priority_but_better_otherwise, high_priority) == ["b", "a"]


def test_expiry_beats_category_and_category_beats_effective_at():
    paid_soon = grant("a", expires_at=NOW + DAY, category="paid")
    promo_later = grant("b", expires_at=NOW + 9 * DAY, category="promotional")
    assert order_of(promo_later, paid_soon) == ["a", "b"]
    promo_new = grant("c", category="promotional", effective_at=NOW - DAY)
    paid_old = grant("d", category="paid", effective_at=NOW - 99 * DAY)
    assert order_of(paid_old, promo_new) == ["c", "d"]


def test_identical_grants_fall_back_to_id():
    assert order_of(grant("b"), grant("a"), grant("c")) == ["a", "b", "c"]


LIVENESS = [
    pytest.param({}, True, id="plain"),
    pytest.param({"effective_at": NOW}, True, id="effective-exactly-now"),
    pytest.param({"effective_at": NOW + timedelta(seconds=1)}, False, id="not-yet"),
    pytest.param({"expires_at": NOW}, False, id="expiring-exactly-now-is-expired"),
    pytest.param({"expires_at": NOW + timedelta(seconds=1)}, True, id="expires-later"),
    pytest.param({"expires_at": NOW - DAY}, False, id="expired"),
    pytest.param({"voided": True}, False, id="voided"),
]


@pytest.mark.parametrize(("fields", "live"), LIVENESS)
def test_liveness_boundaries(fields, live):
    candidate = grant("a", **fields)
    assert grant_is_live(candidate, NOW) is live
    applied = allocate(grants=[candidate], lines=[line("il_1", 100)], now=NOW)
    assert sum(a.amount for a in applied) == (100 if live else 0)


LINES = [
    pytest.param(line("il_1", 300), 300, id="metered"),
    pytest.param(line("il_1", 300, metered=False), 0, id="licensed"),
    pytest.param(line("il_1", 300, price=None, metered=False), 0, id="one-off"),
    pytest.param(line("il_1", 0), 0, id="zero-amount"),
    pytest.param(line("il_1", -300), 0, id="negative"),
    pytest.param(line("il_1", 300, currency="eur"), 0, id="other-currency"),
    pytest.param(line("il_1", 300, currency="USD"), 300, id="currency-case"),
]


@pytest.mark.parametrize(("the_line", "covered"), LINES)
def test_which_lines_take_credits(the_line, covered):
    applied = allocate(grants=[grant("a")], lines=[the_line], now=NOW)
    assert sum(a.amount for a in applied) == covered


def test_prices_scope_excludes_unlisted_and_unmetered_lines():
    scoped = grant("a", prices=frozenset({"price_in", "price_licensed"}))
    lines = [
        line("il_1", 100, price="price_out"),
        line("il_2", 200, price="price_in"),
        line("il_3", 300, price="price_licensed", metered=False),
    ]
    assert allocate(grants=[scoped], lines=lines, now=NOW) == [
        Allocation("il_2", "a", 200)
    ]


def test_scoped_grant_first_then_general_grant():
    scoped = grant("a", priority=0, prices=frozenset({"price_x"}))
    general = grant("b", priority=90)
    lines = [line("il_1", 400, price="price_y"), line("il_2", 400, price="price_x")]
    assert allocate(grants=[general, scoped], lines=lines, now=NOW) == [
        Allocation("il_1", "b", 400),
        Allocation("il_2", "a", 400),
    ]


def test_multi_currency_grants_pay_their_own_currency():
    usd, eur = grant("a", balance=500), grant("b", balance=700, currency="eur")
    lines = [
        line("il_1", 1000, currency="eur"),
        line("il_2", 300),
        line("il_3", 900, currency="jpy"),
    ]
    assert allocate(grants=[usd, eur], lines=lines, now=NOW) == [
        Allocation("il_1", "b", 700),
        Allocation("il_2", "a", 300),
    ]


def test_greedy_across_lines_in_invoice_order():
    first, second = grant("a", balance=250, priority=1), grant("b", balance=100)
    lines = [line("il_1", 200), line("il_2", 200), line("il_3", 200)]
    assert allocate(grants=[second, first], lines=lines, now=NOW) == [
        Allocation("il_1", "a", 200),
        Allocation("il_2", "a", 50),
        Allocation("il_2", "b", 100),
    ]


def test_empty_and_exhausted_grants_are_skipped():
    assert allocate(grants=[grant("a", balance=0)], lines=[line("l", 5)], now=NOW) == []
    assert allocate(grants=[], lines=[line("l", 5)], now=NOW) == []
    assert allocate(grants=[grant("a")], lines=[], now=NOW) == []


def test_seed_001_ten_dollars_against_token_usage():
    # Input tokens at 0.03 USD and output tokens at 0.05 USD: 200 input and 100
    # output tokens cost 6.00 + 5.00 = 11.00 USD; the 10 USD grant pays 10.00.
    credits = grant("credgr_seed", balance=1000, category="promotional")
    lines = [
        line("il_input", 600, price="price_input"),
        line("il_output", 500, price="price_output"),
    ]
    assert allocate(grants=[credits], lines=lines, now=NOW) == [
        Allocation("il_input", "credgr_seed", 600),
        Allocation("il_output", "credgr_seed", 400),
    ]


def test_candidates_are_values():
    candidate = grant("a")
    assert replace(candidate, balance=5).balance == 5
    with pytest.raises(AttributeError):
        candidate.balance = 5  # type: ignore[misc]
