"""How far meter events are settled in receipt order: the watermark.

An event's id is taken when its row is inserted, but transactions commit in any
order: while id 7 is still in flight, id 8 may already be visible. A reader that
moves a cursor over ids (``alerts.services.progress``) must never step over an id
whose transaction may still commit. ``events_settled_through`` answers the highest
id ``h`` such that every event with an id up to ``h`` is committed or never will
be, without a fixed waiting lag and without any work on the write path:

- SQLite takes one writer at a time (``transaction_mode=IMMEDIATE``) and hands out
  ids above every committed one, so ids are in commit order: the highest visible id.
- PostgreSQL: read ``h``, the sequence's last id handed out, then the virtual
  transaction ids of the sessions holding a write lock (``RowExclusiveLock``) on the
  events table. A transaction takes that lock before it draws an id (an ``INSERT``
  locks its table before evaluating defaults; the ``COPY`` path locks it
  explicitly first) and keeps it until it ends, so any transaction that drew an id
  up to ``h`` is among those sessions or has ended. Once all of them have ended,
  ``h`` is settled. Ingestion transactions last milliseconds; the reader waits for
  them up to a bound and answers None if one is still open then (its own commit
  will trigger a later read).
"""

from __future__ import annotations

import functools
import time

from django.db import connection

from metering.models import MeterEvent
from metering.storage.copy import event_id_sequence
from metering.storage.rows import quote

# How often the reader looks again whether the writers it waits for have ended.
_POLL_SECONDS = 0.002


@functools.cache
def _statements() -> tuple[str, str]:
    return (
        # Sessions (other than ours) that hold a write lock on the events table.
        "SELECT array_agg(virtualtransaction) FROM pg_locks"
        " WHERE locktype = 'relation' AND relation = %s::regclass"
        " AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid()",
        # Which of those transactions are still running: each holds its own
        # virtual transaction id lock until it ends.
        "SELECT count(*) FROM pg_locks WHERE locktype = 'virtualxid'"
        " AND virtualxid = ANY(%s)",
    )


def events_settled_through(*, wait_seconds: float) -> int | None:
    """The highest event id up to which every event is committed or never will be.

    Waits up to ``wait_seconds`` for writers still open on PostgreSQL; None if one
    is open after that. 0 when there are no events.
    """
    if connection.vendor != "postgresql":
        return _highest_visible_id()
    writers_sql, running_sql = _statements()
    with connection.cursor() as cursor:
        sequence = event_id_sequence(cursor)
        cursor.execute(f"SELECT last_value, is_called FROM {sequence}")
        last_value, is_called = cursor.fetchone()
        highest = last_value if is_called else last_value - 1
        cursor.execute(writers_sql, [quote(MeterEvent._meta.db_table)])
        writers = cursor.fetchone()[0]
        deadline = time.monotonic() + wait_seconds
        while writers:
            cursor.execute(running_sql, [writers])
            if not cursor.fetchone()[0]:
                break
            if time.monotonic() >= deadline:
                return None
            time.sleep(_POLL_SECONDS)
    return highest


def _highest_visible_id() -> int:
    return MeterEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
