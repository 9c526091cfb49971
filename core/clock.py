"""The clock service: every reading of "now" goes through here.

A customer attached to a test clock lives at that clock's ``frozen_time``. Code reads
``now`` once at the edge (view, task) and passes it down as ``now=``.

Advancing a test clock runs the registered *time handlers* (period close,
finalization, credit expiry, alerts) in time order; higher apps register theirs in
``AppConfig.ready`` so core never imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


# What the clock reads of a test clock and of a customer: shapes, so that the
# clock needs nothing of ``core.models`` (which reads the clock).
class TestClock(Protocol):
    frozen_time: datetime


class Customer(Protocol):
    test_clock_id: str | None
    test_clock: TestClock


def now() -> datetime:
    """Return the real current time, timezone-aware UTC."""
    return datetime.now(UTC)


def now_for_clock(test_clock: TestClock | None) -> datetime:
    """Return the clock's frozen time, or the real time when there is no clock."""
    return test_clock.frozen_time if test_clock is not None else now()


def now_for_customer(customer: Customer) -> datetime:
    """Return "now" as the customer experiences it (its test clock, if any)."""
    if customer.test_clock_id is None:
        return now()
    return customer.test_clock.frozen_time


@dataclass(frozen=True)
class TimeHandler:
    """Work that becomes due as time passes on a test clock.

    ``next_due(clock=, until=)`` returns the earliest moment (possibly already past)
    at which the handler has work for the clock's customers, or None. ``run(clock=,
    now=)`` does all the work due at ``now``; afterwards ``next_due`` must answer a
    later moment or None. ``order`` breaks ties at the same moment (lower first).
    """

    name: str
    next_due: Callable[..., datetime | None]
    run: Callable[..., None]
    order: int = 100


_handlers: dict[str, TimeHandler] = {}


def register_time_handler(handler: TimeHandler) -> None:
    """Register (or replace, by name) a handler that test-clock advances run."""
    _handlers[handler.name] = handler


def unregister_time_handler(name: str) -> None:
    _handlers.pop(name, None)


def time_handlers() -> list[TimeHandler]:
    return sorted(_handlers.values(), key=lambda handler: (handler.order, handler.name))
