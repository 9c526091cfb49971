"""What the storage paths share: the row, SQL helpers, and the rollup fold."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils.dateparse import parse_datetime


class EventRow(NamedTuple):
    """A validated event, ready to be stored; fields in column order. ``value`` is
    whole: a Decimal, or an int on bulk import's fast path (``validation.plain``)."""

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
    dimension_set: int = 0


EVENT_COLUMNS = EventRow._fields
# See ``metering.models.MeterUsageRollup``.
ROLLUP_COLUMNS = (
    "meter_id",
    "customer_id",
    "bucket",
    "dimension_set",
    "value_sum",
    "event_count",
    "last_timestamp",
    "last_seq",
    "last_value",
    "latest_seq",
    "latest_value",
    "value_max",
    "shard",
)


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def names(columns: Sequence[str]) -> str:
    return ", ".join(quote(column) for column in columns)


def placeholders(count: int) -> str:
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
    return f"{column} IN ({placeholders(len(values))})", values


# ---- the rollup fold ------------------------------------------------------------


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
def rollup_merge(old: str) -> str:
    """The DO UPDATE clause; every expression reads the row as it was before."""
    sets = [
        f"value_sum = {old}.value_sum + excluded.value_sum",
        f"event_count = {old}.event_count + excluded.event_count",
        f"value_max = CASE WHEN {old}.value_max IS NULL"
        f" OR excluded.value_max > {old}.value_max THEN excluded.value_max"
        f" ELSE {old}.value_max END",
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
        " ON CONFLICT (customer_id, meter_id, bucket, dimension_set, shard)"
        " DO UPDATE SET " + ", ".join(sets)
    )


def fold(rows: Sequence[EventRow], ids: dict[tuple[str, str], int]) -> list[tuple]:
    """Fold the inserted events into one rollup row per (meter, customer, hour,
    dimension set), in ``ROLLUP_COLUMNS`` order but the shard.

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
        key = (row.meter_id, row.customer_id, hour, row.dimension_set)
        acc = folded.get(key)
        if acc is None:
            folded[key] = [value, 1, timestamp, seq, value, seq, value, value]
            continue
        acc[0] += value
        acc[1] += 1
        if timestamp > acc[2] or (timestamp == acc[2] and seq > acc[3]):
            acc[2], acc[3], acc[4] = timestamp, seq, value
        if seq > acc[5]:
            acc[5], acc[6] = seq, value
        if value > acc[7]:
            acc[7] = value
    return [(*key, *acc) for key, acc in sorted(folded.items())]
