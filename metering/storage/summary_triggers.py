"""The rollups' insert and update triggers, as migration 0015 leaves them: one
trigger per event that adds a statement's change to the hourly totals, then to
the daily rollups (the order the ingest statements lock them in), and that
skips the ingest statements (``metering.storage.summaries``), which add inline.

Before, two triggers per event, the totals' (migration 0012) and the days'
(``metering.storage.days``), each testing the mark in its WHEN. A statement that
writes the rollups prepares every trigger of its events, and the mark's WHEN
was compiled again from its stored text each time: four WHENs cost a v1 event's
one statement 0.16 M instructions of its 1.1 M (callgrind of a single-user
backend). Now two triggers, whose WHEN calls ``metering_rollups_unmarked()``, a
PL/pgSQL function that keeps its compiled body. The delete and truncate
triggers stay as they were (no ingest statement deletes).
"""

from __future__ import annotations

from metering.storage import days, summaries
from metering.storage.summaries import SKIP_MARKED

UNMARKED = "metering_rollups_unmarked"
_HOURS = "metering_meterusagerollup"
_TOTALS = "metering_meterhourtotal"
_TOTALS_ADD = (
    f"INSERT INTO {_TOTALS} AS t (meter_id, bucket, shard, value_sum, event_count)"
    " SELECT meter_id, bucket, shard, sum(value_sum), sum(event_count)"
    " FROM ({rows}) AS changed GROUP BY meter_id, bucket, shard"
    " HAVING sum(value_sum) <> 0 OR sum(event_count) <> 0"
    " ORDER BY meter_id, bucket, shard"
    " ON CONFLICT (meter_id, bucket, shard) DO UPDATE SET"
    " value_sum = t.value_sum + excluded.value_sum,"
    " event_count = t.event_count + excluded.event_count"
)
_ADDED = "SELECT meter_id, bucket, shard, value_sum, event_count FROM new_hours"
_TAKEN = "SELECT meter_id, bucket, shard, -value_sum, -event_count FROM old_hours"
_DAYS_ADD = (
    f"INSERT INTO {days.DAYS} AS d ({days.KEY}, value_sum, event_count)"
    f" SELECT {days.KEY}, sum(value_sum), sum(event_count) FROM ({{rows}}) AS change"
    f" GROUP BY {days.KEY}{{having}} ORDER BY {days.KEY} {days.PG_ADD}"
)
# Days as ``metering.storage.days`` adds them: an update's changes that cancel
# out are left alone; an insert's rows all land, zeros too.
_NONZERO = " HAVING sum(value_sum) <> 0 OR sum(event_count) <> 0"
_DAYS_TAKEN = (
    f"SELECT customer_id, meter_id, {days.PG_DAY}, dimension_set, shard,"
    " -value_sum, -event_count FROM old_hours"
)


def _function(name: str, totals: str, day_rows: str, having: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ BEGIN"
        f" {_TOTALS_ADD.format(rows=totals)};"
        f" {_DAYS_ADD.format(rows=day_rows, having=having)};"
        " RETURN NULL; END $$ LANGUAGE plpgsql"
    )


_ADDED_DAYS = days.pg_changes("new_hours")
_TRIGGERS = (
    ("metering_rollup_summaries_insert", "INSERT", "NEW TABLE AS new_hours"),
    (
        "metering_rollup_summaries_update",
        "UPDATE",
        "OLD TABLE AS old_hours NEW TABLE AS new_hours",
    ),
)
# The triggers they replace (metering 0013).
_REPLACED = tuple(name for name, *_ in summaries.TRIGGERS_0013)

POSTGRES = [
    f"CREATE OR REPLACE FUNCTION {UNMARKED}() RETURNS boolean LANGUAGE plpgsql"
    f" STABLE AS $$ BEGIN RETURN {SKIP_MARKED}; END $$",
    _function("metering_rollup_summaries_insert", _ADDED, _ADDED_DAYS, ""),
    _function(
        "metering_rollup_summaries_update",
        f"{_ADDED} UNION ALL {_TAKEN}",
        f"{_ADDED_DAYS} UNION ALL {_DAYS_TAKEN}",
        _NONZERO,
    ),
    *(f"DROP TRIGGER IF EXISTS {name} ON {_HOURS}" for name in _REPLACED),
    *(
        f"CREATE TRIGGER {name} AFTER {event} ON {_HOURS} REFERENCING {tables}"
        f" FOR EACH STATEMENT WHEN ({UNMARKED}()) EXECUTE FUNCTION {name}()"
        for name, event, tables in _TRIGGERS
    ),
]
POSTGRES_DROP = [
    *(f"DROP TRIGGER IF EXISTS {name} ON {_HOURS}" for name, *_ in _TRIGGERS),
    *summaries.marked_skipping_triggers(),
    *(f"DROP FUNCTION IF EXISTS {name}()" for name, *_ in _TRIGGERS),
    f"DROP FUNCTION IF EXISTS {UNMARKED}()",
]


def install(apps, schema_editor) -> None:
    """Migration step: two triggers in place of four (see the module)."""
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES:
            schema_editor.execute(statement, params=None)


def uninstall(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_DROP:
            schema_editor.execute(statement, params=None)
