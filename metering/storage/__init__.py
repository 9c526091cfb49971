"""The storage of meter events: append plus rollup on write, in one transaction.

Two rules make the write safe, in PostgreSQL and SQLite (3.35+) alike:

- The unique key ``(livemode, event_name, identifier)`` decides which events are
  new (each mode its own: ``core.modes``), also between concurrent transactions,
  so a duplicate is never stored nor counted.
- ``INSERT ... ON CONFLICT (meter_id, customer_id, bucket, shard) DO UPDATE`` adds
  exactly the new events to their hourly rollups, in the same transaction. On
  PostgreSQL concurrent transactions write distinct shards of an hour
  (``ROLLUP_SHARDS``): a busy hour's rollup would otherwise be a hot row, every
  writer queueing for it until the previous one's commit reaches the disk.

Rows are written in key order, so concurrent batches lock in the same order and
cannot deadlock. How, depends on the batch:

- PostgreSQL, one event (v1): one statement, ``INSERT ... VALUES ... ON CONFLICT DO
  NOTHING RETURNING`` feeding the rollup upsert in a CTE: one round trip.
- PostgreSQL, a few events (the v2 stream): the same with the events as one JSON
  parameter, unpacked by ``json_to_recordset`` and folded into rollups in SQL.
  Outside a transaction it first goes without ``ON CONFLICT`` (cheaper per row):
  a stored event (a client's retry) fails the statement, which autocommit rolls
  back, and the batch goes again skipping what is stored.
- PostgreSQL, large batches (bulk import): ``COPY`` straight into the events table,
  the fastest way in, with ids taken from the sequence beforehand so that the
  rollups can be folded here; the rollups then go in with one upsert. ``COPY`` has
  no ``ON CONFLICT``: a batch holding an already stored event fails on the unique
  key, is rolled back to its savepoint and written again the way small batches are
  (a re-run of an import pays that, a first run does not).
- SQLite: two statements in a transaction, folded in Python (``fold``) with the rule
  ``metering.usage.cells_from_events`` states; tests hold every path to it.

Statements run on a psycopg cursor with server-side binding (``raw_cursor``), which
psycopg prepares after a few runs (``DATABASE_PREPARE_THRESHOLD``): the ORM's query
compilation would cost more than these queries. ``events_write`` answers the new
events' ids; ``events_store``, for callers that need only a count, spares reading
them back.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import QuerySet

from metering.models import MeterEventKey
from metering.storage import generic, postgres
from metering.storage.postgres import COPY_FROM
from metering.storage.rows import (
    EventRow,
    aware,
    fold,
    in_filter,
    names,
    quote,
    raw_cursor,
)
from metering.storage.shards import ROLLUP_SHARDS

__all__ = [
    "COPY_FROM",
    "ROLLUP_SHARDS",
    "EventRow",
    "aware",
    "events_store",
    "events_with_identifier",
    "events_write",
    "fold",
    "in_filter",
    "names",
    "quote",
    "raw_cursor",
]


def events_write(
    rows: Sequence[EventRow], *, sync_commit: bool = True
) -> dict[tuple[str, str], int]:
    """Store the new events among ``rows`` and add them to their rollups, atomically.

    ``rows`` (of one mode) must not repeat an (event_name, identifier). Returns the
    id of each stored event by that key; a key missing from the result was already
    stored.
    ``sync_commit=False`` lets PostgreSQL confirm the commit before its WAL is on
    disk: a crash may then lose the batch, so only callers that can redo it (bulk
    import, which skips what is stored when re-run) may ask for it.
    """
    if not rows:
        return {}
    if connection.vendor == "postgresql":
        return postgres.write(rows, sync_commit)
    return generic.write(rows)


def events_store(rows: Sequence[EventRow], *, sync_commit: bool = True) -> int:
    """``events_write`` for callers that need only how many events were new (the v2
    stream, bulk import): it spares returning and reading an id per event."""
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        return postgres.write(rows, sync_commit, ids=False)
    return len(generic.write(rows))


def events_with_identifier(
    queryset: QuerySet, *, event_name: str, identifier: str
) -> QuerySet:
    """``queryset`` (of meter events) narrowed to those of one identifier.

    While events are partitioned by month their table has no index on the
    identifier: the dedupe keys name the ids (one per mode), which each month's
    primary key finds.
    """
    queryset = queryset.filter(event_name=event_name, identifier=identifier)
    if connection.vendor == "postgresql" and postgres.partitioned():
        ids = MeterEventKey.objects.filter(
            event_name=event_name, identifier=identifier
        ).values_list("event_id", flat=True)
        queryset = queryset.filter(id__in=list(ids))
    return queryset
