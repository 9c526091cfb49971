"""Filling the events table for the benchmarks, server-side and resumable.

Events are generated inside PostgreSQL (``INSERT ... SELECT FROM generate_series``,
the server-side equivalent of a COPY), a chunk per statement and commit, each
chunk folded into its hourly rollups in the same statement as ingestion folds a
batch (the daily rollups follow by trigger): no pass over the whole table
afterwards (at 100 M events one ``GROUP BY`` of them all would hold every event in
its arrays).

A large fill (``BULK_CHUNKS`` chunks or more into a plain, unpartitioned table)
loads the heap with the event table's secondary indexes dropped and builds them
once at the end, from their own definitions (``pg_get_indexdef``): maintaining
two B-trees of 100 M text keys row by row cost most of the load. On the shared
2-core machine at load 8-13, 100 M events: 18k events/s row by row (an estimated
1.5 h), 106k events/s into the bare heap (15 min), then about 15 min per B-tree.
The dropped definitions and the chunks done are kept in two small tables in the
same transactions as the work, so an interrupted fill resumes where it stopped,
and a second run with the same size measures without filling.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from bench import support

# Sessions sharing the chunks: the ordinary fill, and the bulk one (heap inserts
# without index maintenance, bound by the CPU the machine gives each session).
_SESSIONS = 2
_BULK_SESSIONS = 3
BULK_CHUNKS = 5
_TABLE = "metering_meterevent"
# The secondary indexes dropped during a bulk fill (the primary key stays: the
# rollups' last_seq/latest_seq take the events' ids, which it serves).
_DROPPED = "bench_dropped_indexes"
_DONE = "bench_filled_chunks"


def _chunk_sql(partial: bool, sets: bool) -> str:
    """One chunk of generated events, folded into its hourly rollups in the same
    statement as ingestion folds a batch (the daily rollups follow by trigger);
    ``partial``: some of the chunk's events are there, and are skipped; ``sets``:
    each event takes one of the dimension sets, by a multiplicative hash of its
    number (every customer's hour then uses every set, as uniform traffic would)."""
    from metering.storage.rows import rollup_merge

    order = 'ORDER BY "timestamp" DESC, id DESC'
    return (
        "WITH ins AS (INSERT INTO metering_meterevent (meter_id, customer_id,"
        " event_name, identifier, value, timestamp, created, livemode,"
        " dimension_set)"
        " SELECT %(meter)s, (%(customers)s::text[])[1 + (i * 7919) %% %(n)s],"
        " %(event_name)s, %(prefix)s || i, 1 + (i * 31) %% 1000,"
        " %(start)s::timestamptz + make_interval(secs => i * %(step)s / 1e6),"
        " %(start)s::timestamptz"
        " + make_interval(secs => i * %(step)s / 1e6 + 2), false, "
        + (
            "(%(sets)s::bigint[])[1 + ((((i * 2654435761) %% 4294967296) >> 16)"
            " %% cardinality(%(sets)s::bigint[]))]"
            if sets
            else "0"
        )
        + " FROM generate_series(%(from)s::bigint, %(to)s::bigint) AS i"
        + (" ON CONFLICT DO NOTHING" if partial else "")
        + ' RETURNING id, meter_id, customer_id, value, "timestamp", dimension_set)'
        " INSERT INTO metering_meterusagerollup AS r (meter_id, customer_id,"
        " bucket, dimension_set, value_sum, event_count, last_timestamp,"
        " last_seq, last_value, latest_seq, latest_value, value_max, shard)"
        " SELECT meter_id, customer_id,"
        " date_trunc('hour', \"timestamp\" AT TIME ZONE 'UTC')"
        " AT TIME ZONE 'UTC', dimension_set,"
        ' sum(value), count(*), max("timestamp"),'
        f" (array_agg(id {order}))[1], (array_agg(value {order}))[1],"
        " max(id), (array_agg(value ORDER BY id DESC))[1], max(value), 0"
        " FROM ins GROUP BY 1, 2, 3, 4 ORDER BY 3, 2, 4" + rollup_merge("r")
    )


def _bookkeeping(cursor) -> None:
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {_DROPPED} (name text PRIMARY KEY,"
        " definition text NOT NULL, prefix text NOT NULL, rows bigint NOT NULL)"
    )
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {_DONE} (prefix text, rows bigint,"
        ' "offset" bigint, PRIMARY KEY (prefix, rows, "offset"))'
    )


def _dropped(cursor) -> tuple[list[tuple[str, str]], tuple[str, int] | None]:
    """The dropped indexes (name, definition) and the fill they were dropped for."""
    cursor.execute(f"SELECT name, definition, prefix, rows FROM {_DROPPED}")
    found = cursor.fetchall()
    fill = (found[0][2], int(found[0][3])) if found else None
    return [(name, definition) for name, definition, _, _ in found], fill


def _build_indexes(raw, cursor, indexes: list[tuple[str, str]]) -> None:
    """Build the dropped indexes, then forget them.

    One after another, each sort with the server's parallel workers: two builds
    at once would hold both sorts' temporary files beside the indexes they
    write (at 100 M events, 7.4 GB of sort files plus two 5.6 GB indexes, on a
    disk shared with others)."""
    cursor.execute("SET maintenance_work_mem = '1GB'")
    for _, definition in indexes:
        started = time.perf_counter()
        cursor.execute(definition.replace("INDEX", "INDEX IF NOT EXISTS", 1))
        raw.commit()
        print(
            f"   built in {time.perf_counter() - started:.0f}s: {definition}",
            flush=True,
        )
    cursor.execute("RESET maintenance_work_mem")
    cursor.execute(f"DELETE FROM {_DROPPED}")
    raw.commit()


def _drop_indexes(raw, cursor, prefix: str, rows: int) -> None:
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x"
        " JOIN pg_class i ON i.oid = x.indexrelid"
        " WHERE x.indrelid = %s::regclass AND NOT x.indisprimary",
        [_TABLE],
    )
    for name, definition in cursor.fetchall():
        cursor.execute(
            f"INSERT INTO {_DROPPED} VALUES (%s, %s, %s, %s)",
            [name, definition, prefix, rows],
        )
        cursor.execute(f'DROP INDEX "{name}"')
    raw.commit()


def events_generate(
    raw,
    cursor,
    *,
    meter_id: str,
    customers: list[str],
    event_name: str,
    prefix: str,
    start,
    span,
    rows: int,
    chunk: int,
    label: str,
    sets: list[int] | None = None,
) -> None:
    """Fill the meter's events up to ``rows`` server-side (customers in turn,
    values 1-1000, spread evenly over ``span`` from ``start``), a chunk per
    statement and commit, folded into the rollups as it goes (module docstring).
    ``sets``: the dimension sets the events take (``_chunk_sql``)."""
    import psycopg

    step_us = int(span.total_seconds() * 1_000_000 / rows)
    _bookkeeping(cursor)
    indexes, resuming = _dropped(cursor)
    if indexes and resuming != (prefix, rows):
        # Another fill was interrupted with the indexes down: restore them first.
        _build_indexes(raw, cursor, indexes)
        indexes, resuming = [], None

    def stored(index: int) -> bool:
        return bool(
            cursor.execute(
                "SELECT 1 FROM metering_meterevent WHERE livemode = false"
                " AND event_name = %s AND identifier = %s",
                [event_name, f"{prefix}{index}"],
            ).fetchone()
        )

    offsets = range(0, rows, chunk)
    if resuming:
        # The indexes are down, and every chunk done is recorded.
        cursor.execute(
            f'SELECT "offset" FROM {_DONE} WHERE prefix = %s AND rows = %s',
            [prefix, rows],
        )
        done = {offset for (offset,) in cursor.fetchall()}
        missing = [(offset, False) for offset in offsets if offset not in done]
    else:
        # (offset, partial) of each chunk not all there: a smaller size's last
        # chunk is there in part, and an interrupted run may have left any out.
        missing = [
            (offset, stored(offset))
            for offset in offsets
            if not stored(min(offset + chunk, rows) - 1)
        ]
    cursor.execute("SELECT relkind FROM pg_class WHERE oid = %s::regclass", [_TABLE])
    bulk = bool(resuming) or (
        cursor.fetchone()[0] == "r"
        and len(missing) >= BULK_CHUNKS
        and not any(partial for _, partial in missing)
    )
    if bulk and not resuming:
        missing_offsets = {offset for offset, _ in missing}
        for offset in offsets:
            if offset not in missing_offsets:
                cursor.execute(
                    f"INSERT INTO {_DONE} VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    [prefix, rows, offset],
                )
        _drop_indexes(raw, cursor, prefix, rows)
        indexes, _ = _dropped(cursor)
    raw.commit()
    progress = [0]
    started = time.perf_counter()

    def work(share: list[tuple[int, bool]]) -> None:
        with psycopg.connect(support.database_url()) as session:
            for offset, partial in share:
                upto = min(offset + chunk, rows)
                session.execute(
                    _chunk_sql(partial, bool(sets)),
                    {
                        "meter": meter_id,
                        "customers": customers,
                        "n": len(customers),
                        "event_name": event_name,
                        "prefix": prefix,
                        "start": start,
                        "step": step_us,
                        "from": offset,
                        "to": upto - 1,
                        "sets": sets,
                    },
                )
                if bulk:
                    session.execute(
                        f"INSERT INTO {_DONE} VALUES (%s, %s, %s)",
                        [prefix, rows, offset],
                    )
                session.commit()
                progress[0] += 1
                print(
                    f"   {label}: chunk {progress[0]} of {len(missing)}"
                    f" ({upto:,} of {rows:,},"
                    f" {time.perf_counter() - started:.0f}s)",
                    flush=True,
                )

    sessions = _BULK_SESSIONS if bulk else _SESSIONS
    shares = [missing[index::sessions] for index in range(sessions)]
    with ThreadPoolExecutor(max_workers=sessions) as pool:
        list(pool.map(work, shares))
    if bulk:
        _build_indexes(raw, cursor, indexes)
        cursor.execute(
            f"DELETE FROM {_DONE} WHERE prefix = %s AND rows = %s", [prefix, rows]
        )
        raw.commit()
    if missing:
        cursor.execute("ANALYZE metering_meterevent")
        cursor.execute("ANALYZE metering_meterusagerollup")
        cursor.execute("ANALYZE metering_meterusageday")
        raw.commit()
