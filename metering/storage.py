"""The storage of meter events: append plus rollup on write, in one transaction.

Two rules make the write safe, in PostgreSQL and SQLite (3.35+) alike:

- The unique key ``(event_name, identifier)`` decides which events are new, also
  between concurrent transactions, so a duplicate is never stored nor counted.
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
- PostgreSQL, large batches (bulk import): ``COPY`` straight into the events table,
  the fastest way in, with ids taken from the sequence beforehand so that the
  rollups can be folded here; the rollups then go in with one upsert. ``COPY`` has
  no ``ON CONFLICT``: a batch holding an already stored event fails on the unique
  key, is rolled back to its savepoint and written again the way small batches are
  (a re-run of an import pays that, a first run does not).
- SQLite: two statements in a transaction, folded in Python (``fold``) with the rule
  ``metering.usage.cells_from_events`` states; tests hold every path to it.

Statements run on a psycopg cursor with server-side binding (``raw_cursor``), which
psycopg prepares after a few runs: the ORM's query compilation would cost more
than these queries.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

import psycopg
from django.db import (
    DEFAULT_DB_ALIAS,
    IntegrityError,
    connection,
    connections,
    transaction,
)
from django.utils.dateparse import parse_datetime

from metering.models import MeterEvent, MeterUsageRollup

# Rows per VALUES statement (SQLite): far below its parameter limit.
_CHUNK = 1000
# From this many rows a PostgreSQL batch goes in by COPY (see the module docstring).
COPY_FROM = 1000


class EventRow(NamedTuple):
    """A validated event, ready to be stored; fields in column order."""

    meter_id: str
    customer_id: str
    event_name: str
    identifier: str
    value: Decimal
    timestamp: datetime
    created: datetime
    livemode: bool
    dimensions: dict[str, str] | None
    request_key: str | None = None


_EVENT_COLUMNS = EventRow._fields
# Binary COPY needs each column's type; ``id`` comes first.
_COPY_TYPES = (
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
)
# How a few events travel to PostgreSQL: one JSON array of objects, unpacked by
# json_to_recordset. Timestamps go as integer microseconds since the epoch and values
# as decimal strings, both exact, and far cheaper to encode than driver-side arrays.
_RECORDSET = (
    "meter_id text, customer_id text, event_name text, identifier text,"
    " value numeric, timestamp_us bigint, created_us bigint, livemode boolean,"
    " dimensions jsonb, request_key text"
)
_ROLLUP_RECORDSET = (
    "meter_id text, customer_id text, bucket_us bigint, value_sum numeric,"
    " event_count bigint, last_us bigint, last_seq bigint, last_value numeric,"
    " latest_seq bigint, latest_value numeric"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_HOUR = timedelta(hours=1)


def _from_us(column: str) -> str:
    return (
        f"to_timestamp({column} / 1000000)"
        f" + ({column} %% 1000000) * interval '1 microsecond'"
    )


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


# See ``metering.models.MeterUsageRollup``.
_ROLLUP_COLUMNS = (
    "meter_id",
    "customer_id",
    "bucket",
    "value_sum",
    "event_count",
    "last_timestamp",
    "last_seq",
    "last_value",
    "latest_seq",
    "latest_value",
    "shard",
)
# At most this many rows per rollup hour on PostgreSQL. A transaction writes shard k,
# the first k in [0, ROLLUP_SHARDS) whose advisory lock (transaction-scoped, under
# _SHARD_LOCKS) no other transaction holds: up to that many concurrent writers
# never touch the same row, and without concurrency every row is shard 0.
ROLLUP_SHARDS = 8
_SHARD_LOCKS = 0x6D747273  # "mtrs": the advisory lock space of the shards
_SHARD = (
    f"(SELECT coalesce((SELECT k FROM generate_series(0, {ROLLUP_SHARDS - 1}) AS k"
    f" WHERE pg_try_advisory_xact_lock({_SHARD_LOCKS}, k) LIMIT 1),"
    f" floor(random() * {ROLLUP_SHARDS})::int))"
)


# The UTC hour of an event's timestamp, in SQL.
_EVENT_HOUR = "date_trunc('hour', \"timestamp\" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def names(columns: Sequence[str]) -> str:
    return ", ".join(quote(column) for column in columns)


def _placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


@contextmanager
def raw_cursor():
    """A cursor for the ingestion statements, in Django's current transaction.

    On PostgreSQL, a psycopg cursor with server-side parameter binding on Django's
    own connection: psycopg then prepares these fixed statements after a few runs,
    and sends parameters without rewriting the query text, which Django's
    client-side binding cursor does on every call. Errors are Django's.
    """
    db = connections[DEFAULT_DB_ALIAS]  # once: each ``connection.x`` is a lookup
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            yield cursor
        return
    db.ensure_connection()
    with db.wrap_database_errors, psycopg.Cursor(db.connection) as cursor:
        yield cursor


def aware(value) -> datetime | None:
    """A datetime from a raw cursor: PostgreSQL gives aware ones, SQLite naive UTC
    ones or text."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = parse_datetime(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def in_filter(column: str, values: list) -> tuple[str, list]:
    """``column IN (...)``: one JSON parameter on PostgreSQL, a list on SQLite."""
    if connection.vendor == "postgresql":
        return (
            f"{column} = ANY(ARRAY(SELECT json_array_elements_text(%s::json)))",
            [json.dumps(values)],
        )
    return f"{column} IN ({_placeholders(len(values))})", values


# ---- the rollup fold -------------------------------------------------------------


def _newer(old: str, *, latest: bool) -> str:
    """True when the incoming row's last (or latest) event beats the stored one."""
    if latest:
        return f"({old}.latest_seq IS NULL OR excluded.latest_seq > {old}.latest_seq)"
    return (
        f"({old}.last_seq IS NULL OR excluded.last_timestamp > {old}.last_timestamp"
        f" OR (excluded.last_timestamp = {old}.last_timestamp"
        f" AND excluded.last_seq > {old}.last_seq))"
    )


@functools.cache
def _rollup_merge(old: str) -> str:
    """The DO UPDATE clause; every expression reads the row as it was before."""
    sets = [
        f"value_sum = {old}.value_sum + excluded.value_sum",
        f"event_count = {old}.event_count + excluded.event_count",
    ]
    for columns, latest in (
        (("last_timestamp", "last_seq", "last_value"), False),
        (("latest_seq", "latest_value"), True),
    ):
        condition = _newer(old, latest=latest)
        sets += [
            f"{column} = CASE WHEN {condition} THEN excluded.{column}"
            f" ELSE {old}.{column} END"
            for column in columns
        ]
    return (
        " ON CONFLICT (meter_id, customer_id, bucket, shard) DO UPDATE SET "
        + ", ".join(sets)
    )


def fold(rows: Sequence[EventRow], ids: dict[tuple[str, str], int]) -> list[tuple]:
    """Fold the inserted events into one rollup row per (meter, customer, hour).

    ``last`` is the latest event by (timestamp, id), ``latest`` the highest id.
    Rows come out in key order.
    """
    folded: dict[tuple, list] = {}
    for row in rows:
        seq = ids.get((row.event_name, row.identifier))
        if seq is None:
            continue
        timestamp, value = row.timestamp, row.value
        hour = timestamp.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        key = (row.meter_id, row.customer_id, hour)
        acc = folded.get(key)
        if acc is None:
            folded[key] = [value, 1, timestamp, seq, value, seq, value]
            continue
        acc[0] += value
        acc[1] += 1
        if timestamp > acc[2] or (timestamp == acc[2] and seq > acc[3]):
            acc[2], acc[3], acc[4] = timestamp, seq, value
        if seq > acc[5]:
            acc[5], acc[6] = seq, value
    return [(*key, *acc) for key, acc in sorted(folded.items())]


# ---- PostgreSQL ------------------------------------------------------------------


@functools.cache
def _one_event_sql() -> str:
    events, rollups = quote(MeterEvent._meta.db_table), MeterUsageRollup._meta.db_table
    return (
        f"WITH ins AS (INSERT INTO {events} ({names(_EVENT_COLUMNS)})"
        f" VALUES ({_placeholders(8)}, %s::jsonb, %s)"
        " ON CONFLICT (event_name, identifier) DO NOTHING"
        ' RETURNING id, meter_id, customer_id, value, "timestamp"'
        f"), merged AS (INSERT INTO {quote(rollups)} AS r ({names(_ROLLUP_COLUMNS)})"
        f" SELECT meter_id, customer_id, {_EVENT_HOUR}, value, 1,"
        f' "timestamp", id, value, id, value, {_SHARD} FROM ins'
        + _rollup_merge("r")
        + ")"
        " SELECT id FROM ins"
    )


def _write_one(row: EventRow) -> dict[tuple[str, str], int]:
    dimensions = None if row.dimensions is None else json.dumps(row.dimensions)
    with raw_cursor() as cursor:
        cursor.execute(_one_event_sql(), [*row[:8], dimensions, row.request_key])
        stored = cursor.fetchone()
    return {} if stored is None else {(row.event_name, row.identifier): stored[0]}


@functools.cache
def _few_events_sql() -> str:
    events, rollups = quote(MeterEvent._meta.db_table), MeterUsageRollup._meta.db_table
    order = 'ORDER BY "timestamp" DESC, id DESC'
    return (
        f"WITH ins AS (INSERT INTO {events} ({names(_EVENT_COLUMNS)})"
        " SELECT meter_id, customer_id, event_name, identifier, value,"
        f" {_from_us('timestamp_us')}, {_from_us('created_us')}, livemode, dimensions,"
        " request_key"
        f" FROM json_to_recordset(%s::json) AS v({_RECORDSET})"
        " ORDER BY event_name, identifier"
        " ON CONFLICT (event_name, identifier) DO NOTHING"
        " RETURNING id, meter_id, customer_id, event_name, identifier, value,"
        ' "timestamp"'
        "), folded AS (SELECT meter_id, customer_id,"
        f" {_EVENT_HOUR},"
        ' sum(value), count(*), max("timestamp"),'
        f" (array_agg(id {order}))[1], (array_agg(value {order}))[1],"
        " max(id), (array_agg(value ORDER BY id DESC))[1]"
        " FROM ins GROUP BY 1, 2, 3"
        f"), merged AS (INSERT INTO {quote(rollups)} AS r ({names(_ROLLUP_COLUMNS)})"
        f" SELECT *, {_SHARD} FROM folded ORDER BY 1, 2, 3" + _rollup_merge("r") + ")"
        " SELECT event_name, identifier, id FROM ins"
    )


def _write_few(rows: Sequence[EventRow]) -> dict[tuple[str, str], int]:
    document = json.dumps(
        [
            {
                "meter_id": row.meter_id,
                "customer_id": row.customer_id,
                "event_name": row.event_name,
                "identifier": row.identifier,
                "value": str(row.value),
                "timestamp_us": _us(row.timestamp),
                "created_us": _us(row.created),
                "livemode": row.livemode,
                "dimensions": row.dimensions,
                "request_key": row.request_key,
            }
            for row in rows
        ]
    )
    with raw_cursor() as cursor:
        cursor.execute(_few_events_sql(), [document])
        return {(name, identifier): seq for name, identifier, seq in cursor.fetchall()}


@functools.cache
def _copy_sql(sequence: str) -> tuple[str, str, str]:
    """Taking ids, the COPY, and the rollup upsert (rows as a JSON parameter)."""
    table = MeterEvent._meta.db_table
    rollups = quote(MeterUsageRollup._meta.db_table)
    return (
        f"SELECT nextval('{sequence}'::regclass) FROM generate_series(1, %s)",
        f"COPY {quote(table)} (id, {names(_EVENT_COLUMNS)}) FROM STDIN (FORMAT BINARY)",
        f"INSERT INTO {rollups} AS r ({names(_ROLLUP_COLUMNS)})"
        f" SELECT meter_id, customer_id, {_from_us('bucket_us')}, value_sum,"
        f" event_count, {_from_us('last_us')}, last_seq, last_value, latest_seq,"
        f" latest_value, {_SHARD}"
        f" FROM json_to_recordset(%s::json) AS v({_ROLLUP_RECORDSET})"
        + _rollup_merge("r"),
    )


def _rollup_document(folded: list[tuple]) -> str:
    return json.dumps(
        [
            {
                "meter_id": meter_id,
                "customer_id": customer_id,
                "bucket_us": _us(bucket),
                "value_sum": str(total),
                "event_count": count,
                "last_us": _us(last_timestamp),
                "last_seq": last_seq,
                "last_value": str(last_value),
                "latest_seq": latest_seq,
                "latest_value": str(latest_value),
            }
            for (
                meter_id,
                customer_id,
                bucket,
                total,
                count,
                last_timestamp,
                last_seq,
                last_value,
                latest_seq,
                latest_value,
            ) in folded
        ]
    )


_sequence: list[str] = []


def _event_id_sequence(cursor) -> str:
    if not _sequence:
        cursor.execute(
            "SELECT pg_get_serial_sequence(%s, 'id')", [MeterEvent._meta.db_table]
        )
        _sequence.append(cursor.fetchone()[0])
    return _sequence[0]


# (event_name, identifier) of an EventRow: the unique key, and the write order.
_event_key = operator.itemgetter(2, 3)


def _fold_in_order(rows: Sequence[EventRow], ids: list[int]) -> list[tuple]:
    """``_fold`` of rows whose ids increase: the latest is the last one seen."""
    folded: dict[tuple, list] = {}
    get = folded.get
    for row, seq in zip(rows, ids, strict=True):
        value, timestamp = row[4], row[5]
        key = (row[0], row[1], (timestamp - _EPOCH) // _HOUR)
        acc = get(key)
        if acc is None:
            folded[key] = [value, 1, timestamp, seq, value, seq, value]
            continue
        acc[0] += value
        acc[1] += 1
        if timestamp >= acc[2]:
            acc[2], acc[3], acc[4] = timestamp, seq, value
        acc[5], acc[6] = seq, value
    return [
        (meter_id, customer_id, _EPOCH + hours * _HOUR, *acc)
        for (meter_id, customer_id, hours), acc in sorted(folded.items())
    ]


def _write_copy(rows: Sequence[EventRow]) -> dict[tuple[str, str], int]:
    """COPY rows none of which may be stored yet; IntegrityError if one is.

    Ids are handed out in key order, as ``INSERT ... ORDER BY`` does in the other
    paths: within a batch, "received later" follows the unique key.
    """
    ordered = sorted(rows, key=_event_key)
    with raw_cursor() as cursor:
        take_ids, copy_sql, rollup_sql = _copy_sql(_event_id_sequence(cursor))
        cursor.execute(take_ids, [len(ordered)])
        ids = [seq for (seq,) in cursor.fetchall()]
        with cursor.copy(copy_sql) as copy:
            copy.set_types(_COPY_TYPES)
            write = copy.write_row
            for seq, row in zip(ids, ordered, strict=True):
                write((seq, *row))
        cursor.execute(rollup_sql, [_rollup_document(_fold_in_order(ordered, ids))])
    return dict(zip(map(_event_key, ordered), ids, strict=True))


def _write_postgres(
    rows: Sequence[EventRow], sync_commit: bool
) -> dict[tuple[str, str], int]:
    if len(rows) == 1 and sync_commit:
        return _write_one(rows[0])
    if len(rows) < COPY_FROM and sync_commit:
        return _write_few(rows)
    with transaction.atomic():
        if not sync_commit:
            with raw_cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        if len(rows) < COPY_FROM:
            return _write_few(rows)
        try:
            with transaction.atomic():
                return _write_copy(rows)
        except IntegrityError:
            # Some event is stored already (a re-run, or a concurrent writer).
            return _write_few(rows)


# ---- SQLite (and any other database) ---------------------------------------------


def _values(cursor, table: str, columns, rows: Sequence[tuple], tail: str) -> list:
    adapt = connection.ops.adapt_datetimefield_value
    placeholder = f"({_placeholders(len(columns))})"
    returned: list = []
    for offset in range(0, len(rows), _CHUNK):
        chunk = rows[offset : offset + _CHUNK]
        cursor.execute(
            f"INSERT INTO {quote(table)} ({names(columns)}) VALUES "
            + ", ".join([placeholder] * len(chunk))
            + tail,
            [
                adapt(value) if isinstance(value, datetime) else value
                for row in chunk
                for value in row
            ],
        )
        if "RETURNING" in tail:
            returned += cursor.fetchall()
    return returned


def _write_generic(rows: Sequence[EventRow]) -> dict[tuple[str, str], int]:
    ordered = sorted(rows, key=lambda row: (row.event_name, row.identifier))
    stored = [
        (
            *row[:8],
            None if row.dimensions is None else json.dumps(row.dimensions),
            row.request_key,
        )
        for row in ordered
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        returned = _values(
            cursor,
            MeterEvent._meta.db_table,
            _EVENT_COLUMNS,
            stored,
            " ON CONFLICT (event_name, identifier) DO NOTHING"
            " RETURNING event_name, identifier, id",
        )
        ids = {(name, identifier): seq for name, identifier, seq in returned}
        table = MeterUsageRollup._meta.db_table
        _values(
            cursor,
            table,
            _ROLLUP_COLUMNS,
            [(*row, 0) for row in fold(ordered, ids)],
            _rollup_merge(quote(table)),
        )
    return ids


def events_write(
    rows: Sequence[EventRow], *, sync_commit: bool = True
) -> dict[tuple[str, str], int]:
    """Store the new events among ``rows`` and add them to their rollups, atomically.

    ``rows`` must not repeat an (event_name, identifier). Returns the id of each
    stored event by that key; a key missing from the result was already stored.
    ``sync_commit=False`` lets PostgreSQL confirm the commit before its WAL is on
    disk: a crash may then lose the batch, so only callers that can redo it (bulk
    import, which skips what is stored when re-run) may ask for it.
    """
    if not rows:
        return {}
    if connection.vendor == "postgresql":
        return _write_postgres(rows, sync_commit)
    return _write_generic(rows)
