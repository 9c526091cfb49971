"""The PostgreSQL paths: one statement for one or a few events, COPY for many."""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
import psycopg
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction

from metering.models import MeterEvent, MeterUsageRollup
from metering.storage import keyed
from metering.storage.keyed import partitioned
from metering.storage.rows import (
    EVENT_COLUMNS,
    ROLLUP_COLUMNS,
    EventRow,
    names,
    placeholders,
    quote,
    raw_cursor,
    rollup_merge,
)

# From this many rows a batch goes in by COPY (see ``metering.storage``).
COPY_FROM = 1000
# The columns a plain event fills: ``dimensions`` and ``request_key`` stay null,
# ``dimension_set`` 0, and a COPY that leaves them out writes each row a little
# faster.
PLAIN_COLUMNS = 8
# Binary COPY needs each column's type: ``id``, then ``EVENT_COLUMNS``.
COPY_TYPES = (
    "int8",
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "numeric",
    "timestamptz",
    "timestamptz",
    "bool",
    "jsonb",
    "varchar",
    "int8",
)
# How a few events travel: one JSON array of objects (orjson), unpacked by
# json_to_recordset. Timestamps go as RFC 3339 text to the microsecond and values as
# decimal strings, both exact, and far cheaper to encode than driver-side arrays.
_RECORDSET = (
    "meter_id text, customer_id text, event_name text, identifier text,"
    ' value numeric, "timestamp" timestamptz, created timestamptz, livemode boolean,'
    " dimensions jsonb, request_key text, dimension_set bigint"
)
_ROLLUP_RECORDSET = (
    "meter_id text, customer_id text, bucket timestamptz, dimension_set bigint,"
    " value_sum numeric, event_count bigint, last_timestamp timestamptz,"
    " last_seq bigint, last_value numeric, latest_seq bigint, latest_value numeric,"
    " value_max numeric"
)
# At most this many rows per rollup hour. A transaction writes shard k, the first
# k in [0, ROLLUP_SHARDS) whose advisory lock (transaction-scoped, in the space
# SHARD_LOCKS) no other transaction holds: up to that many concurrent writers never
# touch the same row, and without concurrency every row is shard 0.
ROLLUP_SHARDS = 8
SHARD_LOCKS = 0x6D747273  # "mtrs"
_SHARD = (
    f"(SELECT coalesce((SELECT k FROM generate_series(0, {ROLLUP_SHARDS - 1}) AS k"
    f" WHERE pg_try_advisory_xact_lock({SHARD_LOCKS}, k) LIMIT 1),"
    f" floor(random() * {ROLLUP_SHARDS})::int))"
)
# The UTC hour of an event's timestamp.
_EVENT_HOUR = "date_trunc('hour', \"timestamp\" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"


@functools.cache
def _one_event_sql(sequence: str = "") -> str:
    """The one-event statement; with the id ``sequence``, the partitioned one
    (``metering.storage.keyed``)."""
    events, rollups = quote(MeterEvent._meta.db_table), MeterUsageRollup._meta.db_table
    if sequence:
        insert = keyed.one_event_insert(events, sequence)
    else:
        insert = (
            f"WITH ins AS (INSERT INTO {events} ({names(EVENT_COLUMNS)})"
            f" VALUES ({placeholders(8)}, %s::jsonb, %s, %s)"
            " ON CONFLICT (livemode, event_name, identifier) DO NOTHING"
        )
    return (
        insert
        + ' RETURNING id, meter_id, customer_id, value, "timestamp", dimension_set'
        f"), merged AS (INSERT INTO {quote(rollups)} AS r ({names(ROLLUP_COLUMNS)})"
        f" SELECT meter_id, customer_id, {_EVENT_HOUR}, dimension_set, value, 1,"
        f' "timestamp", id, value, id, value, value, {_SHARD} FROM ins'
        + rollup_merge("r")
        + ")"
        " SELECT id FROM ins"
    )


def _write_one(row: EventRow) -> dict[tuple[str, str], int]:
    dimensions = None if row.dimensions is None else json.dumps(row.dimensions)
    parameters = [*row[:8], dimensions, row.request_key, row.dimension_set]
    with raw_cursor() as cursor:
        if not partitioned():
            try:
                cursor.execute(_one_event_sql(), parameters)
            except psycopg.errors.InvalidColumnReference:
                # No unique key to conflict on: the table was partitioned since
                # this process read its layout. In a transaction, that aborted it.
                partitioned.cache_clear()
                if connections[DEFAULT_DB_ALIAS].in_atomic_block or not partitioned():
                    raise
        if partitioned():
            parameters[:0] = (row.livemode, row.event_name, row.identifier)
            cursor.execute(_one_event_sql(event_id_sequence(cursor)), parameters)
        stored = cursor.fetchone()
    return {} if stored is None else {(row.event_name, row.identifier): stored[0]}


@functools.cache
def _few_events_sql(skip_stored: bool, ids: bool, sequence: str = "") -> str:
    """Insert the events of one JSON parameter and fold them into their rollups.

    ``skip_stored`` adds ``ON CONFLICT DO NOTHING``; without it a stored event fails
    the statement, and the insert costs a good part less per row. The statement
    answers each new event's key and id, or (not ``ids``) only how many there are.
    With the id ``sequence``, the partitioned statement (``metering.storage.keyed``).
    """
    events, rollups = quote(MeterEvent._meta.db_table), MeterUsageRollup._meta.db_table
    order = 'ORDER BY "timestamp" DESC, id DESC'
    on_conflict = " ON CONFLICT DO NOTHING" if skip_stored else ""
    if sequence:
        source = keyed.few_events_insert(events, _RECORDSET, sequence, on_conflict)
    else:
        source = (
            f"WITH ins AS (INSERT INTO {events} ({names(EVENT_COLUMNS)})"
            " SELECT meter_id, customer_id, event_name, identifier, value,"
            ' "timestamp", created, livemode, dimensions, request_key, dimension_set'
            f" FROM json_to_recordset(%s::json) AS v({_RECORDSET})"
            + (
                " ORDER BY event_name, identifier"
                " ON CONFLICT (livemode, event_name, identifier) DO NOTHING"
                if skip_stored
                # Nothing else would stop this one if the table was partitioned.
                else keyed.plain_guard(events) + " ORDER BY event_name, identifier"
            )
        )
    return (
        source + " RETURNING id, meter_id, customer_id, event_name, identifier, value,"
        ' "timestamp", dimension_set'
        "), folded AS (SELECT meter_id, customer_id,"
        f" {_EVENT_HOUR}, dimension_set,"
        ' sum(value), count(*), max("timestamp"),'
        f" (array_agg(id {order}))[1], (array_agg(value {order}))[1],"
        " max(id), (array_agg(value ORDER BY id DESC))[1], max(value)"
        " FROM ins GROUP BY 1, 2, 3, 4"
        f"), merged AS (INSERT INTO {quote(rollups)} AS r ({names(ROLLUP_COLUMNS)})"
        f" SELECT *, {_SHARD} FROM folded ORDER BY 1, 2, 3, 4"
        + rollup_merge("r")
        + ")"
        + (
            " SELECT event_name, identifier, id FROM ins"
            if ids
            else " SELECT count(*) FROM ins"
        )
    )


def _events_document(rows: Sequence[EventRow]) -> str:
    return orjson.dumps(
        [
            {
                "meter_id": row.meter_id,
                "customer_id": row.customer_id,
                "event_name": row.event_name,
                "identifier": row.identifier,
                "value": str(row.value),
                "timestamp": row.timestamp,
                "created": row.created,
                "livemode": row.livemode,
                "dimensions": row.dimensions,
                "request_key": row.request_key,
                "dimension_set": row.dimension_set,
            }
            for row in rows
        ]
    ).decode()


def _write_few(rows: Sequence[EventRow], ids: bool = True):
    """One statement; outside a transaction, first without ``ON CONFLICT``.

    Stored events are rare on this path (a client's retry), so it first tries the
    cheaper insert, which fails as a whole on a stored event: in autocommit that
    leaves nothing behind, and the batch goes again skipping what is stored. In a
    transaction a failure would abort it, so there it skips stored events at once.
    Returns the new events' ids by key, or (not ``ids``) how many are new.
    """
    document = _events_document(rows)
    with raw_cursor() as cursor:
        sequence = event_id_sequence(cursor) if partitioned() else ""
        if not connections[DEFAULT_DB_ALIAS].in_atomic_block:
            try:
                cursor.execute(_few_events_sql(False, ids, sequence), [document])
            except psycopg.errors.UniqueViolation:
                pass
            except psycopg.errors.DivisionByZero:
                # The table was partitioned since this process read its layout.
                partitioned.cache_clear()
                sequence = event_id_sequence(cursor) if partitioned() else ""
            else:
                return _stored(cursor, ids)
        cursor.execute(_few_events_sql(True, ids, sequence), [document])
        return _stored(cursor, ids)


def _stored(cursor, ids: bool):
    if not ids:
        return cursor.fetchone()[0]
    return {(name, identifier): seq for name, identifier, seq in cursor.fetchall()}


# Rows with dimension values but neither undeclared payload keys nor a request
# key: the plain columns and ``dimension_set``, two fewer fields per row to encode.
_SET_COLUMNS = (*EVENT_COLUMNS[:PLAIN_COLUMNS], EVENT_COLUMNS[-1])
# The types of the plain COPYs' columns, the id last (``_copy_sql``).
_PLAIN_TYPES = (*COPY_TYPES[1 : PLAIN_COLUMNS + 1], COPY_TYPES[0])
_SET_TYPES = (*COPY_TYPES[1 : PLAIN_COLUMNS + 1], COPY_TYPES[-1], COPY_TYPES[0])


@functools.cache
def _copy_sql(sequence: str) -> tuple[str, str, str, str, str]:
    """Taking ids, the COPY (of all columns, of plain rows' columns, of plain rows'
    columns and their dimension set), and the rollup upsert (rows as a JSON
    parameter). The two COPYs of plain rows take the id last: a row is then its
    first fields and the id, one tuple concatenation."""
    table = MeterEvent._meta.db_table
    rollups = quote(MeterUsageRollup._meta.db_table)
    return (
        "SELECT array_agg(seq ORDER BY seq)"
        f" FROM (SELECT nextval('{sequence}'::regclass) AS seq"
        " FROM generate_series(1, %s)) AS taken",
        f"COPY {quote(table)} (id, {names(EVENT_COLUMNS)}) FROM STDIN (FORMAT BINARY)",
        f"COPY {quote(table)} ({names(EVENT_COLUMNS[:PLAIN_COLUMNS])}, id)"
        " FROM STDIN (FORMAT BINARY)",
        f"COPY {quote(table)} ({names(_SET_COLUMNS)}, id) FROM STDIN (FORMAT BINARY)",
        f"INSERT INTO {rollups} AS r ({names(ROLLUP_COLUMNS)})"
        " SELECT meter_id, customer_id, bucket, dimension_set, value_sum,"
        " event_count, last_timestamp, last_seq, last_value, latest_seq,"
        f" latest_value, value_max, {_SHARD}"
        f" FROM json_to_recordset(%s::json) AS v({_ROLLUP_RECORDSET})"
        + rollup_merge("r"),
    )


def _rollup_document(folded: list[tuple]) -> str:
    return orjson.dumps(
        [
            {
                "meter_id": meter_id,
                "customer_id": customer_id,
                "bucket": bucket,
                "dimension_set": dimension_set,
                "value_sum": str(total),
                "event_count": count,
                "last_timestamp": last_timestamp,
                "last_seq": last_seq,
                "last_value": str(last_value),
                "latest_seq": latest_seq,
                "latest_value": str(latest_value),
                "value_max": str(value_max),
            }
            for (
                meter_id,
                customer_id,
                bucket,
                dimension_set,
                total,
                count,
                last_timestamp,
                last_seq,
                last_value,
                latest_seq,
                latest_value,
                value_max,
            ) in folded
        ]
    ).decode()


_sequence: list[str] = []


def event_id_sequence(cursor) -> str:
    """The name of the sequence that hands out meter event ids."""
    if not _sequence:
        cursor.execute(
            "SELECT pg_get_serial_sequence(%s, 'id')", [MeterEvent._meta.db_table]
        )
        _sequence.append(cursor.fetchone()[0])
    return _sequence[0]


# (event_name, identifier) of an EventRow: the unique key, and the write order.
_event_key = operator.itemgetter(2, 3)


def _fold_in_order(rows: Sequence[EventRow], ids: list[int]) -> list[tuple]:
    """``fold`` of rows whose ids increase: the latest is the last one seen.

    Hours are keyed by a number (UTC timestamps: day ordinal and hour), far cheaper
    than datetime arithmetic for each of a hundred thousand rows.
    """
    folded: dict[tuple, list] = {}
    get = folded.get
    for row, seq in zip(rows, ids, strict=True):
        value, timestamp = row[4], row[5]
        key = (row[0], row[1], timestamp.toordinal() * 24 + timestamp.hour, row[10])
        acc = get(key)
        if acc is None:
            folded[key] = [value, 1, timestamp, seq, value, seq, value, value]
            continue
        acc[0] += value
        acc[1] += 1
        if timestamp >= acc[2]:
            acc[2], acc[3], acc[4] = timestamp, seq, value
        acc[5], acc[6] = seq, value
        if value > acc[7]:
            acc[7] = value
    return [
        (meter_id, customer_id, _hour_start(hours), dimension_set, *acc)
        for (meter_id, customer_id, hours, dimension_set), acc in sorted(folded.items())
    ]


def _hour_start(hours: int) -> datetime:
    """The UTC hour numbered ``day ordinal * 24 + hour``."""
    day, hour = divmod(hours, 24)
    return datetime.fromordinal(day).replace(hour=hour, tzinfo=UTC)


def _whole(row: EventRow) -> EventRow:
    """The row with its value as an int (values are whole numbers)."""
    return tuple.__new__(EventRow, (*row[:4], int(row[4]), *row[5:]))


def _write_copy(rows: Sequence[EventRow]) -> dict[tuple[str, str], int]:
    """COPY rows none of which may be stored yet; IntegrityError if one is.

    Ids are handed out in key order, as ``INSERT ... ORDER BY`` does in the other
    paths: within a batch, "received later" follows the unique key.
    """
    ordered = sorted(rows, key=_event_key)
    table = MeterEvent._meta.db_table
    bare = all(row[8] is None and row[9] is None for row in ordered)
    plain = bare and not any(row[10] for row in ordered)
    with raw_cursor() as cursor:
        take_ids, copy_all, copy_plain, copy_sets, rollup_sql = _copy_sql(
            event_id_sequence(cursor)
        )
        # The write lock before the ids, as an INSERT takes it (``watermark``);
        # ONLY: a partitioned table's months are locked as rows reach them.
        cursor.execute(f"LOCK TABLE ONLY {quote(table)} IN ROW EXCLUSIVE MODE")
        cursor.execute(take_ids, [len(ordered)])
        ids = cursor.fetchone()[0]
        if keyed.partitioned_now(cursor, table):
            # The dedupe keys first: a stored one fails here, before the events.
            keyed.copy_keys(cursor, ordered, ids)
        statement = copy_plain if plain else copy_sets if bare else copy_all
        with cursor.copy(statement) as copy:
            # Values are whole numbers (ints on bulk import's fast path): psycopg
            # writes an int as numeric at half the cost of a Decimal.
            write = copy.write_row
            if (plain or bare) and not all(type(row[4]) is int for row in ordered):
                ordered = [_whole(row) for row in ordered]
            if plain:
                copy.set_types(_PLAIN_TYPES)
                for seq, row in zip(ids, ordered, strict=True):
                    write(row[:PLAIN_COLUMNS] + (seq,))
            elif bare:
                copy.set_types(_SET_TYPES)
                for seq, row in zip(ids, ordered, strict=True):
                    write(row[:PLAIN_COLUMNS] + (row[10], seq))
            else:
                copy.set_types(COPY_TYPES)
                for seq, row in zip(ids, ordered, strict=True):
                    write((seq, *row[:4], int(row[4]), *row[5:]))
            # Folded before the COPY ends: the server is still taking in the rows
            # sent last meanwhile.
            rollups = _rollup_document(_fold_in_order(ordered, ids))
        cursor.execute(rollup_sql, [rollups])
    return dict(zip(map(_event_key, ordered), ids, strict=True))


def write(rows: Sequence[EventRow], sync_commit: bool, ids: bool = True):
    """``storage.events_write`` (``ids``) or ``storage.events_store`` on PostgreSQL."""
    if len(rows) == 1 and sync_commit and ids:
        return _write_one(rows[0])
    if len(rows) < COPY_FROM and sync_commit:
        return _write_few(rows, ids)
    with transaction.atomic():
        if not sync_commit:
            with raw_cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        if len(rows) < COPY_FROM:
            return _write_few(rows, ids)
        try:
            with transaction.atomic():
                stored = _write_copy(rows)
        except IntegrityError:
            # Some event is stored already (a re-run, or a concurrent writer).
            return _write_few(rows, ids)
        return stored if ids else len(stored)
