"""Each web process keeps the access snapshots it read, until told they changed.

A product calls the check endpoint on each of its own requests, mostly for the
same customers, so most checks find their snapshot here without a query.

How long an entry lives:

- On PostgreSQL every committed change of a snapshot row sends a notification
  (the trigger of migration ``alerts.0006``), and one listener thread per process
  (``alerts.services.snapshot_listener``) drops the named entries. While that
  listener is connected and beating, an entry read from the primary lives up to
  ``TALLY_CHECK_CACHE_MAX_SECONDS`` (a safety net, not the freshness bound): a
  worker's rewrite shows as soon as its notification arrives.
- Otherwise (SQLite, the listener off, not yet connected, reconnecting or stuck,
  or a read from a replica, which may lag the notification) an entry lives
  ``TALLY_CHECK_CACHE_SECONDS``, as before: correctness never rests on the listener.
- A write in this process forgets its customer's entry at once and again on commit.

A notification can arrive while a miss is between its read and its store: every
drop takes the next number of a process-wide sequence and records it for its key
(or for all keys, when the listener (re)connects and notifications may have been
missed). A miss takes the sequence's number before it reads and stores only if no
drop of its key or of everything came since, so it never keeps what was just
invalidated. ``0`` for ``TALLY_CHECK_CACHE_SECONDS`` turns the cache off.
"""

from __future__ import annotations

import itertools
import os
import threading
import time

from django.conf import settings
from django.db import connections, router, transaction

from alerts.models import CustomerAccess

_MAX_ENTRIES = 20_000  # ~a few MB per process; cleared whole when full

# The snapshot's columns a check reads; ``as_of`` (also in the body) stays deferred.
_READ_FIELDS = ("customer_id", "livemode", "body", "etag")
_READ_SQL = (
    f"SELECT body, etag FROM {CustomerAccess._meta.db_table}"  # noqa: S608 (constant)
    " WHERE customer_id = %s AND livemode = %s"
)

Key = tuple[bool, str]

# key -> (read at (monotonic), snapshot, read from the primary)
_recent: dict[Key, tuple[float, CustomerAccess, bool]] = {}
_lock = threading.Lock()
_sequence = itertools.count(1)
_last_number = 0  # the latest number taken (read without the lock: an int)
_dropped: dict[Key, int] = {}  # key -> number of its latest drop
_all_dropped = 0  # number of the latest drop of every key
# Until when (monotonic) the listener vouches for the notifications; 0: it does not.
_vouched_until = 0.0


def _next_number() -> int:
    global _last_number
    _last_number = next(_sequence)
    return _last_number


def snapshot_token() -> int:
    """Taken before a miss's read; ``snapshot_remember`` compares it."""
    return _last_number


def snapshot_vouched() -> bool:
    """Whether the listener vouches for the notifications now."""
    return time.monotonic() < _vouched_until


def _ttl(from_primary: bool) -> float:
    if from_primary and snapshot_vouched():
        return settings.TALLY_CHECK_CACHE_MAX_SECONDS
    return settings.TALLY_CHECK_CACHE_SECONDS


def snapshot_recent(*, customer_id: str, livemode: bool) -> CustomerAccess | None:
    """The snapshot this process read for the customer, if not known to be stale."""
    found = _recent.get((livemode, customer_id))
    if found is None:
        return None
    read_at, access, from_primary = found
    if time.monotonic() - read_at >= _ttl(from_primary):
        return None
    return access


def snapshot_read(*, customer_id: str, livemode: bool) -> CustomerAccess | None:
    """The customer's stored snapshot, by one plain statement; None if none.

    Each check that misses the cache reads it: the ORM would spend several times
    the query's own cost building the query.
    """
    alias = router.db_for_read(CustomerAccess)
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(_READ_SQL, [customer_id, livemode])
        row = cursor.fetchone()
    if row is None:
        return None
    body = CustomerAccess._meta.get_field("body").from_db_value(
        row[0], None, connection
    )
    return CustomerAccess.from_db(
        alias, _READ_FIELDS, (customer_id, livemode, body, row[1])
    )


def snapshot_remember(access: CustomerAccess, *, read_at: float, token: int) -> None:
    """Keep ``access``, read at ``read_at`` (monotonic) after ``snapshot_token()``
    returned ``token``, unless its key was dropped since."""
    if settings.TALLY_CHECK_CACHE_SECONDS <= 0:
        return
    key = (access.livemode, access.customer_id)
    from_primary = access._state.db == router.db_for_write(CustomerAccess)
    with _lock:
        if _all_dropped > token or _dropped.get(key, 0) > token:
            return
        if len(_recent) >= _MAX_ENTRIES:
            _recent.clear()
        _recent[key] = (read_at, access, from_primary)


def snapshot_drop(key: Key) -> None:
    """Forget one entry (a notification named it)."""
    with _lock:
        if len(_dropped) >= _MAX_ENTRIES:
            _drop_all_locked()
        _dropped[key] = _next_number()
        _recent.pop(key, None)


def snapshot_drop_all() -> None:
    """Forget every entry: notifications may have been missed."""
    with _lock:
        _drop_all_locked()


def _drop_all_locked() -> None:
    global _all_dropped
    _all_dropped = _next_number()
    _dropped.clear()
    _recent.clear()


def snapshot_vouch(until: float) -> None:
    """The listener's heartbeat: entries may live long until ``until``; 0 stops."""
    global _vouched_until
    _vouched_until = until


def snapshot_forget(customer_id: str) -> None:
    """Drop the customer's snapshot now and once the current transaction commits."""

    def forget() -> None:
        snapshot_drop((False, customer_id))
        snapshot_drop((True, customer_id))

    forget()
    transaction.on_commit(forget)


def _after_fork_in_child() -> None:
    # The parent's entries and its listener's word do not carry over.
    global _lock, _vouched_until
    _lock = threading.Lock()
    _vouched_until = 0.0
    _recent.clear()
    _dropped.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)
