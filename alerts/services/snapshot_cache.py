"""Each web process keeps the access snapshots it read for a moment.

A product calls the check endpoint on each of its own requests, mostly for the
same customers, so most checks find their snapshot here without a query. A write
in this process forgets its customer's snapshot at once (and again when the write
commits); one made by another process (a worker's evaluation) is seen within
``TALLY_CHECK_CACHE_SECONDS``, well inside the check's own ``max-age`` and the
two seconds an evaluation may take. 0 turns the cache off.
"""

from __future__ import annotations

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

_recent: dict[tuple[bool, str], tuple[float, CustomerAccess]] = {}
_lock = threading.Lock()


def snapshot_recent(*, customer_id: str, livemode: bool) -> CustomerAccess | None:
    """The snapshot this process read for the customer lately, if still fresh."""
    found = _recent.get((livemode, customer_id))
    if found is None:
        return None
    read_at, access = found
    if time.monotonic() - read_at >= settings.TALLY_CHECK_CACHE_SECONDS:
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


def snapshot_remember(access: CustomerAccess, *, read_at: float) -> None:
    """Keep ``access``, read from the database at ``read_at`` (monotonic)."""
    if settings.TALLY_CHECK_CACHE_SECONDS <= 0:
        return
    with _lock:
        if len(_recent) >= _MAX_ENTRIES:
            _recent.clear()
        _recent[(access.livemode, access.customer_id)] = (read_at, access)


def snapshot_forget(customer_id: str) -> None:
    """Drop the customer's snapshot now and once the current transaction commits."""

    def forget() -> None:
        with _lock:
            _recent.pop((False, customer_id), None)
            _recent.pop((True, customer_id), None)

    forget()
    transaction.on_commit(forget)
