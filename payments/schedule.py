"""The retry schedule: pure rules, no ORM, no clock.

Stripe's Smart Retries are the model: a few attempts spread over up to a few
weeks. ``retry_days`` counts days from the first attempt, e.g. ``(3, 7, 14)``
retries on days 3, 7 and 14: four attempts over two weeks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

MAX_RETRY_DAYS = 60


def retry_days_clean(days: Sequence[int]) -> list[int]:
    """Validate a schedule: whole days, strictly increasing, 1–60; else ValueError."""
    cleaned = [int(day) for day in days]
    if any(day < 1 or day > MAX_RETRY_DAYS for day in cleaned):
        raise ValueError(f"each retry must be between 1 and {MAX_RETRY_DAYS} days")
    if any(b <= a for a, b in zip(cleaned, cleaned[1:], strict=False)):
        raise ValueError("retry days must increase")
    return cleaned


def next_attempt_at(
    *, first_attempt_at: datetime, attempts_made: int, retry_days: Sequence[int]
) -> datetime | None:
    """When to try again after ``attempts_made`` failed attempts; None: give up."""
    index = attempts_made - 1
    if index < 0 or index >= len(retry_days):
        return None
    return first_attempt_at + timedelta(days=retry_days[index])
