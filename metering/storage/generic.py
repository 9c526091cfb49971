"""SQLite (and any other database): two statements in a transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from django.db import connection, transaction

from metering.models import MeterEvent, MeterUsageRollup
from metering.storage.rows import (
    EVENT_COLUMNS,
    ROLLUP_COLUMNS,
    EventRow,
    fold,
    names,
    placeholders,
    quote,
    rollup_merge,
)

# Rows per VALUES statement: far below SQLite's parameter limit.
_CHUNK = 1000


def _values(cursor, table: str, columns, rows: Sequence[tuple], tail: str) -> list:
    adapt = connection.ops.adapt_datetimefield_value
    placeholder = f"({placeholders(len(columns))})"
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


def write(rows: Sequence[EventRow]) -> dict[tuple[str, str], int]:
    ordered = sorted(rows, key=lambda row: (row.event_name, row.identifier))
    stored = [
        (
            *row[:8],
            None if row.dimensions is None else json.dumps(row.dimensions),
            row.request_key,
            row.dimension_set,
        )
        for row in ordered
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        returned = _values(
            cursor,
            MeterEvent._meta.db_table,
            EVENT_COLUMNS,
            stored,
            " ON CONFLICT (livemode, event_name, identifier) DO NOTHING"
            " RETURNING event_name, identifier, id",
        )
        ids = {(name, identifier): seq for name, identifier, seq in returned}
        table = MeterUsageRollup._meta.db_table
        _values(
            cursor,
            table,
            ROLLUP_COLUMNS,
            [(*row, 0) for row in fold(ordered, ids)],
            rollup_merge(quote(table)),
        )
    return ids
