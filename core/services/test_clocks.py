"""Test clocks: simulated time for the customers attached to them.

Advancing walks from the current frozen time to the target, stopping at every moment
a registered time handler has work due (a period end, a grace-period end, a credit
expiry), so everything happens in the order it would have in real time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction

from core import clock, resources
from core.errors import InvalidRequest, InvalidState
from core.models import TestClock
from core.queue import enqueue
from core.services.events import event_emit, event_record

logger = logging.getLogger(__name__)

DELETES_AFTER = timedelta(days=30)
MAX_ADVANCE = timedelta(days=366 * 2)
# A handler that stays due at the same moment after running is a bug; stop, not spin.
_MAX_STEPS_AT_ONE_MOMENT = 1000


@transaction.atomic
def test_clock_create(
    *, frozen_time: datetime, name: str = "", now: datetime
) -> TestClock:
    """Create a clock frozen at ``frozen_time``."""
    test_clock = TestClock.objects.create(
        frozen_time=frozen_time,
        name=name or "",
        created=now,
        deletes_after=now + DELETES_AFTER,
    )
    event_emit(type="test_helpers.test_clock.created", instance=test_clock)
    return test_clock


@transaction.atomic
def test_clock_advance(*, test_clock: TestClock, frozen_time: datetime) -> TestClock:
    """Start moving the clock to ``frozen_time``; the work runs in a task."""
    test_clock = TestClock.objects.select_for_update().get(pk=test_clock.pk)
    if test_clock.status == TestClock.Status.ADVANCING:
        raise InvalidState(
            "The test clock is already advancing; wait until it is ready.",
            param="frozen_time",
        )
    if frozen_time <= test_clock.frozen_time:
        raise InvalidRequest(
            "The new frozen_time must be after the clock's current frozen_time "
            f"({int(test_clock.frozen_time.timestamp())}).",
            param="frozen_time",
        )
    if frozen_time - test_clock.frozen_time > MAX_ADVANCE:
        raise InvalidRequest(
            "A test clock can advance at most two years at a time.", param="frozen_time"
        )
    test_clock.status = TestClock.Status.ADVANCING
    test_clock.advancing_to = frozen_time
    test_clock.failure_message = ""
    test_clock.save(update_fields=["status", "advancing_to", "failure_message"])
    event_emit(type="test_helpers.test_clock.advancing", instance=test_clock)
    transaction.on_commit(lambda: enqueue("test_clock_advance", test_clock.pk))
    return test_clock


def _set_frozen_time(test_clock: TestClock, moment: datetime) -> None:
    test_clock.frozen_time = moment
    TestClock.objects.filter(pk=test_clock.pk).update(frozen_time=moment)


def _next_due(test_clock: TestClock, target: datetime):
    """Return (moment, handlers due then) for the earliest work at or before target."""
    due = []
    for handler in clock.time_handlers():
        moment = handler.next_due(clock=test_clock, until=target)
        if moment is not None and moment <= target:
            due.append((max(moment, test_clock.frozen_time), handler))
    if not due:
        return None, []
    earliest = min(moment for moment, _ in due)
    return earliest, [handler for moment, handler in due if moment == earliest]


def test_clock_run_advance(*, test_clock_id: str) -> TestClock:
    """Walk the clock to its target, running due handlers in time order."""
    test_clock = TestClock.objects.get(pk=test_clock_id)
    if (
        test_clock.status != TestClock.Status.ADVANCING
        or test_clock.advancing_to is None
    ):
        return test_clock
    target = test_clock.advancing_to
    try:
        steps_here, last_moment = 0, None
        while True:
            moment, handlers = _next_due(test_clock, target)
            if moment is None:
                break
            steps_here = steps_here + 1 if moment == last_moment else 0
            if steps_here > _MAX_STEPS_AT_ONE_MOMENT:
                raise RuntimeError(f"time handlers made no progress at {moment}")
            last_moment = moment
            _set_frozen_time(test_clock, moment)
            for handler in handlers:
                handler.run(clock=test_clock, now=moment)
        _set_frozen_time(test_clock, target)
    except Exception as exc:
        logger.exception("Test clock %s failed to advance", test_clock.pk)
        return _finish(test_clock, failure=str(exc) or exc.__class__.__name__)
    return _finish(test_clock, failure=None)


@transaction.atomic
def _finish(test_clock: TestClock, *, failure: str | None) -> TestClock:
    test_clock.refresh_from_db()
    if failure is None:
        test_clock.status = TestClock.Status.READY
        test_clock.advancing_to = None
        event_type = "test_helpers.test_clock.ready"
    else:
        test_clock.status = TestClock.Status.INTERNAL_FAILURE
        test_clock.failure_message = failure[:2000]
        event_type = "test_helpers.test_clock.internal_failure"
    test_clock.save(update_fields=["status", "advancing_to", "failure_message"])
    event_emit(type=event_type, instance=test_clock)
    return test_clock


@transaction.atomic
def test_clock_delete(*, test_clock: TestClock) -> None:
    """Delete the clock and everything attached to it (customers and their objects)."""
    data = resources.serialize(test_clock)
    test_clock.delete()
    event_record(type="test_helpers.test_clock.deleted", data_object=data)


def test_clocks_delete_expired(*, now: datetime) -> int:
    """Delete clocks past ``deletes_after``, each in its own transaction."""
    count = 0
    for test_clock in TestClock.objects.filter(deletes_after__lte=now).order_by("pk"):
        test_clock_delete(test_clock=test_clock)
        count += 1
    return count
