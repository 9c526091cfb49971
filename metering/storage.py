"""The storage of meter events: lookups for validation, append plus rollup on write.

Two rules make the write safe, in PostgreSQL and SQLite (3.35+) alike:

- ``INSERT ... ON CONFLICT (event_name, identifier) DO NOTHING RETURNING`` tells
  which events are new; the unique key decides, also between concurrent
  transactions, so a duplicate is never stored nor counted.
- ``INSERT ... ON CONFLICT (meter_id, customer_id, bucket) DO UPDATE`` adds exactly
  the new events to their hourly rollups, in the same transaction.

Rows are written in key order, so concurrent batches lock in the same order and
cannot deadlock. PostgreSQL does both in one statement (the events arrive as arrays
and are folded into rollup rows in SQL), a single round trip whatever the batch
size. SQLite runs the two statements in a transaction and folds in Python, with the
rule ``metering.usage.cells_from_events`` states; tests hold both to it.

Reads here are plain SQL because they run for every ingestion request, where the
ORM's query compilation would cost more than the queries.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db import connection, transaction
from django.utils.dateparse import parse_datetime

from core.models import Customer, TestClock
from metering.models import Meter, MeterEvent, MeterUsageRollup

# Rows per VALUES statement (SQLite): far below its parameter limit.
_CHUNK = 1000


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


_EVENT_COLUMNS = EventRow._fields
# How the events travel to PostgreSQL: one JSON array of objects, unpacked by
# json_to_recordset. Timestamps go as integer microseconds since the epoch and values
# as decimal strings, both exact, and far cheaper to encode than driver-side arrays.
_RECORDSET = (
    "meter_id text, customer_id text, event_name text, identifier text,"
    " value numeric, timestamp_us bigint, created_us bigint, livemode boolean,"
    " dimensions jsonb"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _from_us(column: str) -> str:
    return (
        f"to_timestamp({column} / 1000000)"
        f" + ({column} %% 1000000) * interval '1 microsecond'"
    )


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
)
# Every column of a meter but its metadata, in model order (``Model.from_db`` wants
# that order when some fields are left deferred).
_METER_FIELDS = tuple(
    field.attname for field in Meter._meta.concrete_fields if field.name != "metadata"
)


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _names(columns: Sequence[str]) -> str:
    return ", ".join(_quote(column) for column in columns)


def _placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


@contextmanager
def _cursor():
    """A cursor for this module's statements.

    On PostgreSQL, a psycopg cursor with server-side parameter binding on Django's
    own connection (same transaction): psycopg then prepares these fixed statements
    after a few runs, and sends array parameters without rewriting the query text,
    which Django's client-side binding cursor does on every call.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg

    connection.ensure_connection()
    with (
        connection.wrap_database_errors,
        psycopg.Cursor(connection.connection) as cursor,
    ):
        yield cursor


def _aware(value) -> datetime | None:
    """A datetime from a raw cursor: PostgreSQL gives aware ones, SQLite text."""
    if value is None or isinstance(value, datetime):
        return value
    return parse_datetime(value).replace(tzinfo=UTC)


# ---- reads ---------------------------------------------------------------------


def _in(column: str, values: list) -> tuple[str, list]:
    """``column IN (...)``: one JSON parameter on PostgreSQL, a list on SQLite."""
    if connection.vendor == "postgresql":
        return (
            f"{column} = ANY(ARRAY(SELECT json_array_elements_text(%s::json)))",
            [json.dumps(values)],
        )
    return f"{column} IN ({_placeholders(len(values))})", values


@functools.cache
def _lookup_sql() -> tuple[str, str]:
    """The two halves of the lookup, with a ``{}`` where each filter goes.

    Rows are ('m', NULL, meter columns...) or ('c', frozen time, NULLs but the id).
    """
    customer_columns = ", ".join(
        "c.id" if name == "id" else "NULL" for name in _METER_FIELDS
    )
    return (
        f"SELECT 'm', NULL, {_names(_METER_FIELDS)}"
        f" FROM {_quote(Meter._meta.db_table)} WHERE {{}}",
        f" UNION ALL SELECT 'c', k.frozen_time, {customer_columns}"
        f" FROM {_quote(Customer._meta.db_table)} c"
        f" LEFT JOIN {_quote(TestClock._meta.db_table)} k ON k.id = c.test_clock_id"
        " WHERE {} AND NOT c.deleted",
    )


def meters_and_customers(
    event_names: Collection[str], customer_ids: Collection[str]
) -> tuple[list[Meter], dict[str, datetime | None]]:
    """Meters with these event names (oldest first), and which customers exist.

    The customers map an existing, not deleted id to its test clock's frozen time
    (None without a clock); ``customer_ids`` may hold candidates that are not
    customers at all. One query, since this runs for every ingestion request.
    """
    if not event_names and not customer_ids:
        return [], {}
    meter_filter, params = _in("event_name", list(event_names))
    meters_sql, customers_sql = _lookup_sql()
    sql = meters_sql.format(meter_filter)
    if customer_ids:
        customer_filter, customer_params = _in("c.id", list(customer_ids))
        sql += customers_sql.format(customer_filter)
        params += customer_params
    with _cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    meters, customers = [], {}
    for kind, frozen_time, *fields in rows:
        values = dict(zip(_METER_FIELDS, fields, strict=True))
        if kind == "c":
            customers[values["id"]] = _aware(frozen_time)
            continue
        for name in ("created", "updated", "status_transitions_deactivated_at"):
            values[name] = _aware(values[name])
        values["livemode"] = bool(values["livemode"])
        meters.append(
            Meter.from_db(connection.alias, list(values), list(values.values()))
        )
    meters.sort(key=lambda meter: (meter.created, meter.id))
    return meters, customers


# ---- writes --------------------------------------------------------------------


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
    return " ON CONFLICT (meter_id, customer_id, bucket) DO UPDATE SET " + ", ".join(
        sets
    )


@functools.cache
def _postgres_sql() -> str:
    events, rollups = _quote(MeterEvent._meta.db_table), MeterUsageRollup._meta.db_table
    columns = _names(_EVENT_COLUMNS)
    order = 'ORDER BY "timestamp" DESC, id DESC'
    return (
        f"WITH ins AS (INSERT INTO {events} ({columns})"
        " SELECT meter_id, customer_id, event_name, identifier, value,"
        f" {_from_us('timestamp_us')}, {_from_us('created_us')}, livemode, dimensions"
        f" FROM json_to_recordset(%s::json) AS v({_RECORDSET})"
        " ORDER BY event_name, identifier"
        " ON CONFLICT (event_name, identifier) DO NOTHING"
        " RETURNING id, meter_id, customer_id, event_name, identifier, value,"
        ' "timestamp"'
        "), folded AS (SELECT meter_id, customer_id,"
        " date_trunc('hour', \"timestamp\" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',"
        ' sum(value), count(*), max("timestamp"),'
        f" (array_agg(id {order}))[1], (array_agg(value {order}))[1],"
        " max(id), (array_agg(value ORDER BY id DESC))[1]"
        " FROM ins GROUP BY 1, 2, 3"
        f"), merged AS (INSERT INTO {_quote(rollups)} AS r ({_names(_ROLLUP_COLUMNS)})"
        " SELECT * FROM folded ORDER BY 1, 2, 3" + _rollup_merge("r") + ")"
        " SELECT event_name, identifier, id FROM ins"
    )


def _write_postgres(rows: Sequence[EventRow]) -> list[tuple]:
    document = json.dumps(
        [
            {
                "meter_id": row.meter_id,
                "customer_id": row.customer_id,
                "event_name": row.event_name,
                "identifier": row.identifier,
                "value": str(row.value),
                "timestamp_us": (row.timestamp - _EPOCH) // _MICROSECOND,
                "created_us": (row.created - _EPOCH) // _MICROSECOND,
                "livemode": row.livemode,
                "dimensions": row.dimensions,
            }
            for row in rows
        ]
    )
    with _cursor() as cursor:
        cursor.execute(_postgres_sql(), [document])
        return cursor.fetchall()


def fold(rows: Sequence[EventRow], ids: dict[tuple[str, str], int]) -> list[tuple]:
    """Fold the inserted events into one rollup row per (meter, customer, hour).

    ``last`` is the latest event by (timestamp, id), ``latest`` the highest id.
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


def _values(cursor, table: str, columns, rows: Sequence[tuple], tail: str) -> list:
    adapt = connection.ops.adapt_datetimefield_value
    placeholder = f"({_placeholders(len(columns))})"
    returned: list = []
    for offset in range(0, len(rows), _CHUNK):
        chunk = rows[offset : offset + _CHUNK]
        cursor.execute(
            f"INSERT INTO {_quote(table)} ({_names(columns)}) VALUES "
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


def _write_generic(rows: Sequence[EventRow]) -> list[tuple]:
    ordered = sorted(rows, key=lambda row: (row.event_name, row.identifier))
    stored = [
        (*row[:8], None if row.dimensions is None else json.dumps(row.dimensions))
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
            fold(ordered, ids),
            _rollup_merge(_quote(table)),
        )
    return returned


def events_write(rows: Sequence[EventRow]) -> dict[tuple[str, str], int]:
    """Store the new events among ``rows`` and add them to their rollups, atomically.

    ``rows`` must not repeat an (event_name, identifier). Returns the id of each
    stored event by that key; a key missing from the result was already stored.
    """
    if not rows:
        return {}
    if connection.vendor == "postgresql":
        returned = _write_postgres(rows)
    else:
        returned = _write_generic(rows)
    return {(name, identifier): seq for name, identifier, seq in returned}
