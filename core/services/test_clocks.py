"""Test clocks: simulated time for the customers attached to them.

Advancing walks from the current frozen time to the target, stopping at every moment
a registered time handler has work due (a period end, a grace-period end, a credit
expiry), so everything happens in the order it would have in real time.

An advance survives its worker dying: the runner holds a lease on the clock, renewed
at every step, and records each moment it reaches in ``frozen_time`` before running
the handlers due then. A rerun claims the lease once it has lapsed and walks on from
that moment; the handlers' work is idempotent (unique constraints), so what the dead
runner finished is not done twice. A Beat job hands advances whose lease has lapsed
to a new task (``test_clocks_resume_stale``).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

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
    """Create a clock frozen at ``frozen_time`` (test mode only, as in Stripe)."""
    test_clock = TestClock.objects.create(
        livemode=False,
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
    # Queued, no runner yet: a task that never starts is resumed once this lapses.
    test_clock.advance_lease_token = ""
    test_clock.advance_leased_until = _lease_end()
    test_clock.save(
        update_fields=[
            "status",
            "advancing_to",
            "failure_message",
            "advance_lease_token",
            "advance_leased_until",
        ]
    )
    event_emit(type="test_helpers.test_clock.advancing", instance=test_clock)
    _enqueue_on_commit(test_clock.pk)
    return test_clock


def _enqueue_on_commit(test_clock_id: str) -> None:
    transaction.on_commit(lambda: _enqueue(test_clock_id))


def _enqueue(test_clock_id: str) -> None:
    try:
        enqueue("test_clock_advance", test_clock_id)
    except Exception:  # broker down: the lease lapses and Beat resumes the advance
        logger.exception("Could not queue the advance of test clock %s", test_clock_id)


def _lease_end() -> datetime:
    # Wall-clock time, read at each renewal: a lease measures how long a worker
    # has been silent, which a test clock's frozen time says nothing about.
    return clock.now() + settings.TALLY_TEST_CLOCK_ADVANCE_LEASE


def _claim(test_clock_id: str) -> str | None:
    """Take the advance's lease: free (queued) or lapsed; None if held or done."""
    token = secrets.token_hex(16)
    claimed = (
        TestClock.objects.filter(
            pk=test_clock_id,
            status=TestClock.Status.ADVANCING,
            advancing_to__isnull=False,
        )
        .filter(
            Q(advance_lease_token="")
            | Q(advance_leased_until__isnull=True)
            | Q(advance_leased_until__lt=clock.now())
        )
        .update(advance_lease_token=token, advance_leased_until=_lease_end())
    )
    return token if claimed else None


def _step(test_clock: TestClock, token: str, moment: datetime) -> bool:
    """Record reaching ``moment`` and renew the lease; False once it is lost."""
    moved = TestClock.objects.filter(
        pk=test_clock.pk,
        status=TestClock.Status.ADVANCING,
        advance_lease_token=token,
    ).update(frozen_time=moment, advance_leased_until=_lease_end())
    if moved:
        test_clock.frozen_time = moment
    return bool(moved)


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


def test_clock_run_advance(*, test_clock_id: str) -> TestClock | None:
    """Walk the clock to its target, running due handlers in time order.

    Returns None when there is nothing to run here: the clock is not advancing, or
    another runner holds a live lease on it.
    """
    token = _claim(test_clock_id)
    if token is None:
        return None
    test_clock = TestClock.objects.get(pk=test_clock_id)
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
            if not _step(test_clock, token, moment):
                return None  # presumed dead and taken over: the new runner goes on
            for handler in handlers:
                handler.run(clock=test_clock, now=moment)
        if not _step(test_clock, token, target):
            return None
    except Exception as exc:
        logger.exception("Test clock %s failed to advance", test_clock.pk)
        return _finish(test_clock, token, failure=str(exc) or exc.__class__.__name__)
    return _finish(test_clock, token, failure=None)


def test_clocks_resume_stale(*, now: datetime) -> int:
    """Hand each advance whose runner's lease lapsed before ``now`` to a new task."""
    stale = TestClock.objects.filter(
        status=TestClock.Status.ADVANCING, advance_leased_until__lt=now
    ).order_by("pk")
    ids = list(stale.values_list("pk", flat=True))
    for test_clock_id in ids:
        logger.warning("Resuming the stalled advance of test clock %s", test_clock_id)
        with transaction.atomic():
            _enqueue_on_commit(test_clock_id)
    return len(ids)


@transaction.atomic
def _finish(test_clock: TestClock, token: str, *, failure: str | None):
    test_clock = TestClock.objects.select_for_update().get(pk=test_clock.pk)
    if (
        test_clock.status != TestClock.Status.ADVANCING
        or test_clock.advance_lease_token != token
    ):
        return None  # another runner took over and finishes it
    test_clock.advance_lease_token = ""
    test_clock.advance_leased_until = None
    if failure is None:
        test_clock.status = TestClock.Status.READY
        test_clock.advancing_to = None
        event_type = "test_helpers.test_clock.ready"
    else:
        test_clock.status = TestClock.Status.INTERNAL_FAILURE
        test_clock.failure_message = failure[:2000]
        event_type = "test_helpers.test_clock.internal_failure"
    test_clock.save(
        update_fields=[
            "status",
            "advancing_to",
            "failure_message",
            "advance_lease_token",
            "advance_leased_until",
        ]
    )
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
