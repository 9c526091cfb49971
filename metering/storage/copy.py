"""The COPY path of many events: ids taken ahead, the rows by binary COPY, their
hours folded in Python and merged into the rollups by one statement."""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from datetime import UTC, datetime

from metering.models import MeterEvent, MeterUsageRollup
from metering.storage import keyed
from metering.storage.rows import (
    EVENT_COLUMNS,
    EventRow,
    names,
    quote,
    raw_cursor,
    rollup_merge,
)
from metering.storage.shards import SHARD
from metering.storage.summaries import summaries_sql

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
# The folded hours go in by binary COPY to a session's temporary table, which the
# upsert then empties (``DELETE ... RETURNING``): parsing them from a JSON document
# took a fifth of the upsert's PostgreSQL CPU, and encoding it most of the fold's
# Python time. With dimensions an hour has a row per set, so this weighed most
# there (bench dimensions). The rows leave at commit at the latest.
_STAGE = "tally_rollup_hours"
_STAGE_COLUMNS = (
    ("meter_id", "text"),
    ("customer_id", "text"),
    ("bucket", "timestamptz"),
    ("dimension_set", "int8"),
    ("value_sum", "numeric"),
    ("event_count", "int8"),
    ("last_timestamp", "timestamptz"),
    ("last_seq", "int8"),
    ("last_value", "numeric"),
    ("latest_seq", "int8"),
    ("latest_value", "numeric"),
    ("value_max", "numeric"),
)
_STAGE_TYPES = [kind for _, kind in _STAGE_COLUMNS]
_CREATE_STAGE = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE}"
    f" ({', '.join(f'{name} {kind}' for name, kind in _STAGE_COLUMNS)})"
    " ON COMMIT DELETE ROWS"
)

# Rows with dimension values but neither undeclared payload keys nor a request
# key: the plain columns and ``dimension_set``, two fewer fields per row to encode.
_SET_COLUMNS = (*EVENT_COLUMNS[:PLAIN_COLUMNS], EVENT_COLUMNS[-1])
# The types of the plain COPYs' columns, the id last (``_copy_sql``).
_PLAIN_TYPES = (*COPY_TYPES[1 : PLAIN_COLUMNS + 1], COPY_TYPES[0])
_SET_TYPES = (*COPY_TYPES[1 : PLAIN_COLUMNS + 1], COPY_TYPES[-1], COPY_TYPES[0])


@functools.cache
def _copy_sql(sequence: str) -> tuple[str, str, str, str, str]:
    """Taking ids, the COPY (of all columns, of plain rows' columns, of plain rows'
    columns and their dimension set), and the rollup upsert (of the hours staged
    in ``_STAGE``). The two COPYs of plain rows take the id last: a row is then its
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
        f"WITH staged AS (DELETE FROM {_STAGE} RETURNING *),"
        " hours AS (SELECT meter_id, customer_id, bucket, dimension_set,"
        " value_sum, event_count, last_timestamp, last_seq, last_value, latest_seq,"
        f" latest_value, value_max, {SHARD} AS shard FROM staged), "
        + summaries_sql("hours", rollups, rollup_merge("r"))
        + " SELECT count(*) FROM summed",
    )


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


def _stage_hours(cursor, hours: list[tuple]) -> None:
    """COPY folded hours (``_fold_in_order``) to the session's ``_STAGE``."""
    cursor.execute(_CREATE_STAGE)
    with cursor.copy(f"COPY {_STAGE} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(_STAGE_TYPES)
        write = copy.write_row
        for row in hours:
            write(row)


def write_copy(rows: Sequence[EventRow]) -> dict[tuple[str, str], int]:
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
            hours = _fold_in_order(ordered, ids)
        _stage_hours(cursor, hours)
        cursor.execute(rollup_sql)
    return dict(zip(map(_event_key, ordered), ids, strict=True))
