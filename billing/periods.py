"""Billing-period arithmetic: pure functions of datetimes, no ORM and no clock.

A subscription's periods are ``interval`` (day, week, month, year) × ``count`` long,
counted from its ``billing_cycle_anchor``. Periods are half-open ``[start, end)`` in
UTC. Month and year periods keep the anchor's day of the month and clamp it to
short months *relative to the anchor*, never to the previous boundary: anchored on
Jan 31, the boundaries are Feb 28 (29 in leap years), Mar 31, Apr 30, May 31.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

INTERVALS = ("day", "week", "month", "year")


@dataclass(frozen=True)
class Cycle:
    """How a subscription's periods repeat.

    ``anchor`` is one period boundary; ``anchor_day`` is the day of the month that
    month and year boundaries aim for (the anchor's own day unless a
    ``billing_cycle_anchor_config.day_of_month`` asked for a later one that the
    anchor's month did not have).
    """

    interval: str
    count: int
    anchor: datetime
    anchor_day: int | None = None

    def __post_init__(self) -> None:
        if self.interval not in INTERVALS:
            raise ValueError(f"interval must be one of {INTERVALS}")
        if type(self.count) is not int or self.count < 1:
            raise ValueError("interval count must be a positive integer")
        if self.anchor.tzinfo is None:
            raise ValueError("the anchor must be timezone-aware")
        object.__setattr__(self, "anchor", self.anchor.astimezone(UTC))
        day = self.anchor_day or self.anchor.day
        if not 1 <= day <= 31:
            raise ValueError("anchor_day must be between 1 and 31")
        object.__setattr__(self, "anchor_day", day)

    @property
    def months(self) -> int:
        """Months per period (0 for day and week intervals)."""
        return {"month": 1, "year": 12}.get(self.interval, 0) * self.count

    @property
    def fixed(self) -> timedelta | None:
        """The period's length for day and week intervals (None for calendar ones)."""
        if self.interval == "day":
            return timedelta(days=self.count)
        if self.interval == "week":
            return timedelta(weeks=self.count)
        return None


def add_months(moment: datetime, months: int, day: int) -> datetime:
    """Move ``moment`` by ``months`` calendar months onto ``day``, clamped."""
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return moment.replace(year=year, month=month + 1, day=min(day, last))


def boundary(cycle: Cycle, n: int) -> datetime:
    """Return the ``n``-th period boundary from the anchor (``n`` may be negative)."""
    if cycle.fixed is not None:
        return cycle.anchor + cycle.fixed * n
    return add_months(cycle.anchor, cycle.months * n, cycle.anchor_day)


def _index_at_or_before(cycle: Cycle, moment: datetime) -> int:
    """Return the largest ``n`` with ``boundary(cycle, n) <= moment``."""
    if cycle.fixed is not None:
        return (moment - cycle.anchor) // cycle.fixed
    months = (moment.year - cycle.anchor.year) * 12 + moment.month - cycle.anchor.month
    n = months // cycle.months
    # The estimate is off by at most one period either way (day and time of day).
    while boundary(cycle, n) > moment:
        n -= 1
    while boundary(cycle, n + 1) <= moment:
        n += 1
    return n


def period_containing(cycle: Cycle, moment: datetime) -> tuple[datetime, datetime]:
    """Return the period ``[start, end)`` that contains ``moment``."""
    n = _index_at_or_before(cycle, moment)
    return boundary(cycle, n), boundary(cycle, n + 1)


def next_boundary(cycle: Cycle, moment: datetime) -> datetime:
    """Return the first boundary strictly after ``moment``."""
    return boundary(cycle, _index_at_or_before(cycle, moment) + 1)


def periods_between(
    cycle: Cycle, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Split ``[start, end)`` at the cycle's boundaries, oldest first.

    The first piece may start after a boundary and the last may end before one
    (partial periods); the pieces cover ``[start, end)`` exactly.
    """
    pieces, cursor = [], start
    while cursor < end:
        stop = min(next_boundary(cycle, cursor), end)
        pieces.append((cursor, stop))
        cursor = stop
    return pieces


def fraction(part_start: datetime, part_end: datetime, start: datetime, end: datetime):
    """Return the share of ``[start, end)`` covered by ``[part_start, part_end)``.

    Exact: a ``Decimal`` ratio of whole seconds, so a proration is computed
    exactly and rounded once, on its line.
    """
    whole = int((end - start).total_seconds())
    if whole <= 0:
        raise ValueError("a period must have a positive length")
    covered = int((min(part_end, end) - max(part_start, start)).total_seconds())
    return Decimal(max(covered, 0)) / Decimal(whole)


def anchor_from_config(
    *,
    start: datetime,
    interval: str,
    day_of_month: int,
    hour: int | None = None,
    minute: int | None = None,
    second: int | None = None,
    month: int | None = None,
) -> datetime:
    """Return the first moment after ``start`` matching an anchor config.

    Unset hour, minute and second take the start's; the day is clamped to short
    months (day 31 in April is April 30). ``month`` applies to yearly cycles.
    """
    if interval not in ("month", "year"):
        raise ValueError("billing_cycle_anchor_config needs a monthly or yearly price")
    start = start.astimezone(UTC)
    clock = {
        "hour": start.hour if hour is None else hour,
        "minute": start.minute if minute is None else minute,
        "second": start.second if second is None else second,
        "microsecond": 0,
    }
    step = 12 if interval == "year" else 1
    candidate_month = month if (interval == "year" and month) else start.month
    base = start.replace(month=candidate_month, day=1, **clock)
    for offset in range(-step, 2 * step + 1, step):
        shifted = add_months(base, offset, day_of_month)
        if shifted > start:
            return shifted
    raise AssertionError("a matching moment always exists within two periods")
