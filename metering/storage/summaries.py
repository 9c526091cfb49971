"""The daily rollups and the hourly totals, added to by the ingest statements.

``MeterUsageDay`` (``metering.storage.days``) and ``MeterHourTotal`` (migration
``0012_meter_hour_totals``) sum the hourly rollups. Triggers on the rollups keep
them for every writer; the ingest paths of PostgreSQL, which fold each batch into
its hours in one statement, add the same hours to the days and totals in that
statement (``summaries_sql``), one upsert per table per batch, and mark the
statement so that the triggers skip it (``MARKED``, ``SKIP_MARKED``). The triggers'
statement-level work (transition tables read back, grouped and upserted by a
PL/pgSQL function) cost more than the rows' upserts themselves; the inline upserts
read the batch's hours once, from the statement's own CTE.

Exact by construction: the days and totals change in the same statement, so the
same transaction, as the hours, under the same row locks in the same order
(hours, totals, days, each in key order, as the triggers do), whatever the order
of commits or the age of the events' timestamps.

The mark is the statement's start time (``statement_timestamp()``) in a
transaction-local setting: it names one statement, so a later statement of the
same transaction (a cancellation after an ingest, a bench loader) is not skipped.

Since migration 0015 one trigger per event does both tables, and tests the mark
by a function call (``metering.storage.summary_triggers``, which says why).
"""

from __future__ import annotations

from metering.storage.rows import ROLLUP_COLUMNS

_SETTING = "tally.rollup_summaries"
# A one-time condition (an InitPlan, evaluated before the rollups' upsert ends
# and its statement triggers are queued) that marks the statement.
MARKED = (
    f"(SELECT set_config('{_SETTING}', statement_timestamp()::text, true)) IS NOT NULL"
)
# Not a marked statement: the triggers' WHEN (migration 0013), then the answer
# of the function their WHEN calls (``metering.storage.summary_triggers``).
SKIP_MARKED = (
    f"current_setting('{_SETTING}', true) IS DISTINCT FROM statement_timestamp()::text"
)
_DAY = "date_trunc('day', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
_DAY_KEY = "customer_id, meter_id, bucket, dimension_set, shard"


def summaries_sql(
    hours: str, rollups: str, rollup_merge: str, *, one_row: bool = False
) -> str:
    """CTEs (after a comma) that upsert CTE ``hours`` (``ROLLUP_COLUMNS``, one row
    per key) into ``rollups``, then add them to the hourly totals and to the
    daily rollups; CTE ``summed`` answers when all three are written.

    Each step waits for the one before (a one-time ``count(*)`` of its RETURNING):
    every ingest statement locks hours, totals and days in that order.
    ``one_row``: ``hours`` holds one row at most (v1's one event), which needs
    no grouping nor ordering; their nodes cost that statement 8 % of its
    instructions.
    """
    sums = "value_sum, event_count" if one_row else "sum(value_sum), sum(event_count)"
    totals_by = "" if one_row else " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    days_by = "" if one_row else " GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"
    return (
        f"merged AS (INSERT INTO {rollups} AS r ({', '.join(ROLLUP_COLUMNS)})"
        f" SELECT * FROM {hours} WHERE {MARKED}"
        + ("" if one_row else " ORDER BY 1, 2, 3, 4")
        + f"{rollup_merge} RETURNING 1),"
        " totals AS (INSERT INTO metering_meterhourtotal AS t"
        " (meter_id, bucket, shard, value_sum, event_count)"
        f" SELECT meter_id, bucket, shard, {sums}"
        f" FROM {hours} WHERE (SELECT count(*) FROM merged) >= 0{totals_by}"
        " ON CONFLICT (meter_id, bucket, shard) DO UPDATE SET"
        " value_sum = t.value_sum + excluded.value_sum,"
        " event_count = t.event_count + excluded.event_count RETURNING 1),"
        f" summed AS (INSERT INTO metering_meterusageday AS d ({_DAY_KEY},"
        " value_sum, event_count)"
        f" SELECT customer_id, meter_id, {_DAY}, dimension_set, shard,"
        f" {sums} FROM {hours}"
        f" WHERE (SELECT count(*) FROM totals) >= 0{days_by}"
        f" ON CONFLICT ({_DAY_KEY}) DO UPDATE SET"
        " value_sum = d.value_sum + excluded.value_sum,"
        " event_count = d.event_count + excluded.event_count RETURNING 1)"
    )


# The triggers that skip marked statements (migration 0013): the inserts' and
# updates'. Deletes and truncates are never the ingest paths'.
_HOURS = "metering_meterusagerollup"
TRIGGERS_0013 = (
    (
        "metering_usage_days_insert",
        "INSERT",
        "NEW TABLE AS new_hours",
        "metering_usage_days",
    ),
    (
        "metering_usage_days_update",
        "UPDATE",
        "OLD TABLE AS old_hours NEW TABLE AS new_hours",
        "metering_usage_days",
    ),
    (
        "metering_hour_total_insert",
        "INSERT",
        "NEW TABLE AS added",
        "metering_hour_total_insert",
    ),
    (
        "metering_hour_total_update",
        "UPDATE",
        "OLD TABLE AS taken NEW TABLE AS added",
        "metering_hour_total_update",
    ),
)


def marked_skipping_triggers() -> list[str]:
    """The four triggers of 0013, skipping marked statements (0015 restores them)."""
    return _create_triggers(f" WHEN ({SKIP_MARKED})")


def _create_triggers(when: str) -> list[str]:
    statements = []
    for name, event, tables, function in TRIGGERS_0013:
        statements += [
            f"DROP TRIGGER IF EXISTS {name} ON {_HOURS}",
            f"CREATE TRIGGER {name} AFTER {event} ON {_HOURS} REFERENCING {tables}"
            f" FOR EACH STATEMENT{when} EXECUTE FUNCTION {function}()",
        ]
    return statements


def install(apps, schema_editor) -> None:
    """Migration step: the triggers skip the statements that add inline."""
    if schema_editor.connection.vendor == "postgresql":
        for statement in marked_skipping_triggers():
            schema_editor.execute(statement, params=None)


def uninstall(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in _create_triggers(""):
            schema_editor.execute(statement, params=None)
