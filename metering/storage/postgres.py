"""The PostgreSQL paths: one statement for one or a few events, COPY for many
(``metering.storage.copy``)."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence

import orjson
import psycopg
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction

from metering.models import MeterEvent, MeterUsageRollup
from metering.storage import keyed
from metering.storage.copy import event_id_sequence, write_copy
from metering.storage.keyed import partitioned
from metering.storage.rows import (
    EVENT_COLUMNS,
    EventRow,
    names,
    placeholders,
    quote,
    raw_cursor,
    rollup_merge,
)
from metering.storage.shards import SHARD
from metering.storage.summaries import summaries_sql

# From this many rows a batch goes in by COPY (see ``metering.storage``).
COPY_FROM = 1000
# How a few events travel: one JSON array of objects (orjson), unpacked by
# json_to_recordset. Timestamps go as RFC 3339 text to the microsecond and values as
# decimal strings, both exact, and far cheaper to encode than driver-side arrays.
_RECORDSET = (
    "meter_id text, customer_id text, event_name text, identifier text,"
    ' value numeric, "timestamp" timestamptz, created timestamptz, livemode boolean,'
    " dimensions jsonb, request_key text, dimension_set bigint"
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
        f"), hours AS (SELECT meter_id, customer_id, {_EVENT_HOUR} AS bucket,"
        " dimension_set, value AS value_sum, 1::bigint AS event_count,"
        ' "timestamp" AS last_timestamp, id AS last_seq, value AS last_value,'
        " id AS latest_seq, value AS latest_value, value AS value_max,"
        f" {SHARD} AS shard FROM ins), "
        + summaries_sql("hours", quote(rollups), rollup_merge("r"), one_row=True)
        + " SELECT id FROM ins"
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
        f" {_EVENT_HOUR} AS bucket, dimension_set,"
        " sum(value) AS value_sum, count(*) AS event_count,"
        ' max("timestamp") AS last_timestamp,'
        f" (array_agg(id {order}))[1] AS last_seq,"
        f" (array_agg(value {order}))[1] AS last_value, max(id) AS latest_seq,"
        " (array_agg(value ORDER BY id DESC))[1] AS latest_value,"
        f" max(value) AS value_max, {SHARD} AS shard"
        " FROM ins GROUP BY 1, 2, 3, 4), "
        + summaries_sql("folded", quote(rollups), rollup_merge("r"))
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
                stored = write_copy(rows)
        except IntegrityError:
            # Some event is stored already (a re-run, or a concurrent writer).
            return _write_few(rows, ids)
        return stored if ids else len(stored)
