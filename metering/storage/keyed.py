"""The write paths' statements while events are partitioned by month.

A partitioned table cannot keep ``(livemode, event_name, identifier)`` unique
(``metering.storage.partitions``), so each path writes the key to
``MeterEventKey`` first, with the event's id drawn there, and writes only the
events whose key was new: one statement for one or a few events, a second
``COPY`` (before the events') for a large batch.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from metering.models import MeterEventKey
from metering.storage.rows import EVENT_COLUMNS, EventRow, names, quote

KEY_COLUMNS = "livemode, event_name, identifier, event_id"
# The typed columns of one event, selected rather than inserted as VALUES.
_ONE_EVENT = (
    "%s::varchar, %s::varchar, %s::varchar, %s::varchar, %s::numeric,"
    " %s::timestamptz, %s::timestamptz, %s::boolean, %s::jsonb, %s::varchar,"
    " %s::bigint"
)


@functools.cache
def partitioned() -> bool:
    """Whether events are partitioned by month (``metering.storage.partitions``).

    Read once per process. A write after another process converted the table
    notices (``plain_guard``, ``partitioned_now``, the one-event statement's
    missing conflict key) and reads it again.
    """
    from metering.storage.partitions import is_partitioned

    return is_partitioned()


def partitioned_now(cursor, table: str) -> bool:
    """The layout as it is now (stable while the caller holds a lock on the
    table), and remembered if another process converted the table since."""
    cursor.execute(
        "SELECT relkind = 'p' FROM pg_class WHERE oid = %s::regclass", [quote(table)]
    )
    now = cursor.fetchone()[0]
    if now != partitioned():
        partitioned.cache_clear()
    return now


def plain_guard(events: str) -> str:
    """A condition that fails the statement (division by zero) once the events
    are partitioned: a process that has not seen the conversion yet must not
    store events without their keys."""
    return (
        " WHERE (SELECT 1 / (relkind = 'r')::int FROM pg_class"
        f" WHERE oid = '{events}'::regclass) = 1"
    )


def _keys_table() -> str:
    return quote(MeterEventKey._meta.db_table)


def one_event_insert(events: str, sequence: str) -> str:
    """The ``ins`` part of the one-event statement: the key, then the event if
    the key was new (parameters: the key's three, then the event's)."""
    return (
        f"WITH k AS (INSERT INTO {_keys_table()} ({KEY_COLUMNS})"
        f" VALUES (%s, %s, %s, nextval('{sequence}'::regclass))"
        " ON CONFLICT DO NOTHING RETURNING event_id),"
        f" ins AS (INSERT INTO {events} (id, {names(EVENT_COLUMNS)})"
        f" SELECT event_id, {_ONE_EVENT} FROM k"
    )


def few_events_insert(events: str, recordset: str, sequence: str, skip: str) -> str:
    """The ``ins`` part of the few-events statement: the keys in key order, each
    with its event's id, then the events whose key was new (rows of one mode)."""
    return (
        f"WITH v AS MATERIALIZED (SELECT * FROM json_to_recordset(%s::json)"
        f" AS v({recordset})), k AS (INSERT INTO {_keys_table()}"
        f" ({KEY_COLUMNS}) SELECT *, nextval('{sequence}'::regclass)"
        " FROM (SELECT livemode, event_name, identifier FROM v"
        f" ORDER BY event_name, identifier) AS ordered{skip}"
        " RETURNING event_name, identifier, event_id),"
        f" ins AS (INSERT INTO {events} (id, {names(EVENT_COLUMNS)})"
        " SELECT event_id, meter_id, customer_id, event_name, identifier, value,"
        ' "timestamp", created, livemode, dimensions, request_key,'
        " dimension_set FROM v JOIN k USING (event_name, identifier)"
        " ORDER BY event_name, identifier"
    )


def copy_keys(cursor, ordered: Sequence[EventRow], ids: Sequence[int]) -> None:
    """COPY the batch's keys with their ids; a stored one fails the COPY."""
    sql = f"COPY {_keys_table()} ({KEY_COLUMNS}) FROM STDIN (FORMAT BINARY)"
    with cursor.copy(sql) as copy:
        copy.set_types(("bool", "varchar", "varchar", "int8"))
        for seq, row in zip(ids, ordered, strict=True):
            copy.write_row((row[7], row[2], row[3], seq))
