"""Invoice line descriptions people understand; pure functions of their inputs.

"Hypernian Pro × 1 (Apr 1 – May 1, 2026)",
"150,000 tokens · Hypernian API tokens (Apr 1 – May 1, 2026)".
Periods are half-open ``[start, end)``; the end shown is the next period's first
day, as Stripe shows it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal


def _day(moment: datetime, *, year: bool) -> str:
    text = f"{moment:%b} {moment.day}"
    return f"{text}, {moment.year}" if year else text


def format_period(start: datetime, end: datetime) -> str:
    """Return "Apr 1 – May 1, 2026" or "Dec 1, 2025 – Jan 1, 2026"."""
    if start.year == end.year:
        return f"{_day(start, year=False)} – {_day(end, year=True)}"
    return f"{_day(start, year=True)} – {_day(end, year=True)}"


def format_date(moment: datetime) -> str:
    return _day(moment, year=True)


def format_units(quantity: Decimal | int) -> str:
    """Return ``150,000`` or ``2.5``."""
    value = Decimal(quantity)
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value.normalize():,f}"


def licensed_line(product: str, quantity: int, start: datetime, end: datetime) -> str:
    return f"{product} × {quantity:,} ({format_period(start, end)})"


def trial_line(product: str, quantity: int, start: datetime, end: datetime) -> str:
    return f"Trial period for {product} × {quantity:,} ({format_period(start, end)})"


def unit_name(label: str | None, quantity: Decimal) -> str:
    """The product's unit label for a quantity: "1 token", "150,000 tokens"."""
    if not label:
        return "unit" if quantity == 1 else "units"
    if quantity == 1 or label.endswith("s"):
        return label
    return f"{label}s"


def usage_line(
    *,
    product: str,
    unit_label: str | None,
    quantity: Decimal,
    start: datetime,
    end: datetime,
) -> str:
    units = unit_label or "units"
    return f"{format_units(quantity)} {units} · {product} ({format_period(start, end)})"


def late_usage_line(
    *,
    product: str,
    unit_label: str | None,
    quantity: Decimal,
    start: datetime,
    end: datetime,
) -> str:
    units = unit_name(unit_label, quantity)
    return (
        f"Usage from previous period ({format_period(start, end)}): "
        f"{format_units(quantity)} {units} · {product}"
    )


def unused_time_line(product: str, quantity: int, after: datetime) -> str:
    return f"Unused time on {quantity:,} × {product} after {format_date(after)}"


def remaining_time_line(product: str, quantity: int, after: datetime) -> str:
    return f"Remaining time on {quantity:,} × {product} after {format_date(after)}"
