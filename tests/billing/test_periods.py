"""Billing-period arithmetic: anchors, month-end clamping, leap years."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.periods import (
    Cycle,
    anchor_from_config,
    boundary,
    fraction,
    next_boundary,
    period_containing,
    periods_between,
)


def d(year, month, day, hour=0, minute=0, second=0):
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("interval", "count", "anchor", "n", "expected"),
    [
        ("month", 1, d(2026, 1, 31), 1, d(2026, 2, 28)),
        ("month", 1, d(2026, 1, 31), 2, d(2026, 3, 31)),
        ("month", 1, d(2026, 1, 31), 3, d(2026, 4, 30)),
        ("month", 1, d(2028, 1, 31), 1, d(2028, 2, 29)),  # leap year
        ("month", 1, d(2026, 3, 31), -1, d(2026, 2, 28)),
        ("month", 1, d(2026, 8, 30, 9, 15), 6, d(2027, 2, 28, 9, 15)),
        ("month", 3, d(2026, 11, 30), 1, d(2027, 2, 28)),
        ("month", 1, d(2026, 12, 15), 1, d(2027, 1, 15)),
        ("year", 1, d(2028, 2, 29), 1, d(2029, 2, 28)),
        ("year", 1, d(2028, 2, 29), 4, d(2032, 2, 29)),
        ("week", 2, d(2026, 4, 1), 3, d(2026, 5, 13)),
        ("day", 1, d(2026, 2, 28, 12), 1, d(2026, 3, 1, 12)),
    ],
)
def test_boundaries(interval, count, anchor, n, expected):
    assert boundary(Cycle(interval, count, anchor), n) == expected


def test_anchor_day_beyond_the_anchor_month_is_kept():
    # day_of_month=31 first lands on April 30; later boundaries still aim at 31.
    cycle = Cycle("month", 1, d(2026, 4, 30), anchor_day=31)
    assert [boundary(cycle, n) for n in range(4)] == [
        d(2026, 4, 30),
        d(2026, 5, 31),
        d(2026, 6, 30),
        d(2026, 7, 31),
    ]


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (d(2026, 2, 28), (d(2026, 2, 28), d(2026, 3, 31))),
        (d(2026, 2, 27, 23, 59, 59), (d(2026, 1, 31), d(2026, 2, 28))),
        (d(2026, 3, 31), (d(2026, 3, 31), d(2026, 4, 30))),
        (d(2025, 12, 31), (d(2025, 12, 31), d(2026, 1, 31))),
        (d(2025, 12, 30), (d(2025, 11, 30), d(2025, 12, 31))),
    ],
)
def test_period_containing_is_half_open(moment, expected):
    cycle = Cycle("month", 1, d(2026, 1, 31))
    assert period_containing(cycle, moment) == expected


def test_next_boundary_is_strictly_after():
    cycle = Cycle("month", 1, d(2026, 1, 31))
    assert next_boundary(cycle, d(2026, 2, 28)) == d(2026, 3, 31)
    assert next_boundary(cycle, d(2026, 2, 27)) == d(2026, 2, 28)


def test_periods_between_splits_at_boundaries():
    cycle = Cycle("month", 1, d(2026, 1, 1))
    assert periods_between(cycle, d(2026, 1, 15), d(2026, 3, 10)) == [
        (d(2026, 1, 15), d(2026, 2, 1)),
        (d(2026, 2, 1), d(2026, 3, 1)),
        (d(2026, 3, 1), d(2026, 3, 10)),
    ]


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        ((d(2026, 4, 16), d(2026, 5, 1)), Decimal(1) / 2),
        ((d(2026, 4, 1), d(2026, 5, 1)), Decimal(1)),
        ((d(2026, 4, 30, 12), d(2026, 5, 1)), Decimal(1) / 60),
    ],
)
def test_fraction_is_an_exact_ratio_of_seconds(part, expected):
    assert fraction(*part, d(2026, 4, 1), d(2026, 5, 1)) == expected


@pytest.mark.parametrize(
    ("start", "config", "interval", "expected"),
    [
        (d(2026, 4, 10, 8), {"day_of_month": 31}, "month", d(2026, 4, 30, 8)),
        (d(2026, 4, 10, 8), {"day_of_month": 5}, "month", d(2026, 5, 5, 8)),
        (
            d(2026, 4, 10, 8),
            {"day_of_month": 10, "hour": 9},
            "month",
            d(2026, 4, 10, 9),
        ),
        (d(2026, 4, 10), {"day_of_month": 1, "month": 1}, "year", d(2027, 1, 1)),
        (d(2026, 1, 20), {"day_of_month": 29, "month": 2}, "year", d(2026, 2, 28)),
    ],
)
def test_anchor_from_config(start, config, interval, expected):
    assert anchor_from_config(start=start, interval=interval, **config) == expected


def test_anchor_config_needs_calendar_intervals():
    with pytest.raises(ValueError, match="monthly or yearly"):
        anchor_from_config(start=d(2026, 1, 1), interval="week", day_of_month=3)


@given(
    anchor_day=st.integers(min_value=1, max_value=31),
    offset_days=st.integers(min_value=-800, max_value=800),
    count=st.integers(min_value=1, max_value=4),
    interval=st.sampled_from(["day", "week", "month", "year"]),
)
def test_moments_fall_in_exactly_one_period(anchor_day, offset_days, count, interval):
    anchor = d(2026, 1, min(anchor_day, 31), 6)
    cycle = Cycle(interval, count, anchor, anchor_day=anchor_day)
    moment = anchor + timedelta(days=offset_days, hours=offset_days % 24)
    start, end = period_containing(cycle, moment)
    assert start <= moment < end
    assert next_boundary(cycle, start) == end
