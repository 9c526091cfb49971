"""The daily rollups (``MeterUsageDay``), kept by the database from the hourly ones.

Every statement that writes hourly rollups adds its change to their days. The
PostgreSQL ingest paths do it in the statement that folds their batch into hours
(``metering.storage.summaries``, which also says how these triggers skip them);
a trigger on the hours does it for every other writer (SQLite's ingestion, a
cancellation merging an hour's shards, a bench loader) without any of them
knowing.

- PostgreSQL: statement-level triggers with transition tables. One ``INSERT ...
  ON CONFLICT DO UPDATE`` on the hours fires the insert and the update trigger
  once each, whatever the batch's size: the cost is per statement (a batch), one
  upsert of the batch's days, not per event. The change is ``new - old`` per
  (meter, customer, day, dimension set, shard), added to the day in key order so
  that concurrent writers lock days in the same order. A shard's day only takes
  that shard's hours: concurrent writers, each on its own shard, never wait for
  each other on a day any more than on an hour.
- SQLite: row-level triggers doing the same per hourly row (slower, same result).

Since migration 0015 one insert and one update trigger do the days and the
hourly totals both (``metering.storage.summary_triggers``); the delete trigger
below stays. Deleting hours only subtracts from days that still exist: a
cascade that deleted the days first (a customer or meter deleted) leaves nothing
behind. Days are never deleted by the triggers; a day whose hours all went reads
as zero.
"""

from __future__ import annotations

DAYS = "metering_meterusageday"
_HOURS = "metering_meterusagerollup"
KEY = "customer_id, meter_id, bucket, dimension_set, shard"
PG_DAY = "date_trunc('day', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
PG_ADD = (
    f"ON CONFLICT ({KEY}) DO UPDATE SET value_sum = d.value_sum + excluded.value_sum,"
    " event_count = d.event_count + excluded.event_count"
)


def pg_changes(source: str) -> str:
    return (
        f"SELECT customer_id, meter_id, {PG_DAY} AS bucket, dimension_set, shard,"
        " value_sum, event_count FROM " + source
    )


POSTGRES = [
    f"""
CREATE OR REPLACE FUNCTION metering_usage_days() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {DAYS} AS d ({KEY}, value_sum, event_count)
        SELECT {KEY}, sum(value_sum), sum(event_count)
        FROM ({pg_changes("new_hours")}) AS change
        GROUP BY {KEY} ORDER BY {KEY} {PG_ADD};
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO {DAYS} AS d ({KEY}, value_sum, event_count)
        SELECT {KEY}, sum(value_sum), sum(event_count)
        FROM ({pg_changes("new_hours")}
              UNION ALL SELECT customer_id, meter_id, {PG_DAY}, dimension_set,
              shard, -value_sum, -event_count FROM old_hours) AS change
        GROUP BY {KEY} HAVING sum(value_sum) <> 0 OR sum(event_count) <> 0
        ORDER BY {KEY} {PG_ADD};
    ELSE
        UPDATE {DAYS} AS d SET value_sum = d.value_sum - gone.value_sum,
            event_count = d.event_count - gone.event_count
        FROM (SELECT {KEY}, sum(value_sum) AS value_sum,
              sum(event_count) AS event_count
              FROM ({pg_changes("old_hours")}) AS change
              GROUP BY {KEY}) AS gone
        WHERE (d.customer_id, d.meter_id, d.bucket, d.dimension_set, d.shard)
            = (gone.customer_id, gone.meter_id, gone.bucket, gone.dimension_set,
               gone.shard);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
""",
    f"CREATE TRIGGER metering_usage_days_insert AFTER INSERT ON {_HOURS}"
    " REFERENCING NEW TABLE AS new_hours"
    " FOR EACH STATEMENT EXECUTE FUNCTION metering_usage_days()",
    f"CREATE TRIGGER metering_usage_days_update AFTER UPDATE ON {_HOURS}"
    " REFERENCING OLD TABLE AS old_hours NEW TABLE AS new_hours"
    " FOR EACH STATEMENT EXECUTE FUNCTION metering_usage_days()",
    f"CREATE TRIGGER metering_usage_days_delete AFTER DELETE ON {_HOURS}"
    " REFERENCING OLD TABLE AS old_hours"
    " FOR EACH STATEMENT EXECUTE FUNCTION metering_usage_days()",
]
POSTGRES_DROP = [
    f"DROP TRIGGER IF EXISTS metering_usage_days_insert ON {_HOURS}",
    f"DROP TRIGGER IF EXISTS metering_usage_days_update ON {_HOURS}",
    f"DROP TRIGGER IF EXISTS metering_usage_days_delete ON {_HOURS}",
    "DROP FUNCTION IF EXISTS metering_usage_days()",
]

# Django keeps SQLite datetimes as 'YYYY-MM-DD HH:MM:SS' text in UTC.
_SQLITE_DAY = "strftime('%Y-%m-%d 00:00:00', {row}.bucket)"


def _sqlite_add(row: str) -> str:
    return (
        f"INSERT INTO {DAYS} ({KEY}, value_sum, event_count) VALUES"
        f" ({row}.customer_id, {row}.meter_id, {_SQLITE_DAY.format(row=row)},"
        f" {row}.dimension_set, {row}.shard, {row}.value_sum, {row}.event_count)"
        f" ON CONFLICT ({KEY}) DO UPDATE SET"
        " value_sum = value_sum + excluded.value_sum,"
        " event_count = event_count + excluded.event_count;"
    )


def _sqlite_subtract(row: str) -> str:
    return (
        f"UPDATE {DAYS} SET value_sum = value_sum - {row}.value_sum,"
        f" event_count = event_count - {row}.event_count"
        f" WHERE customer_id = {row}.customer_id AND meter_id = {row}.meter_id"
        f" AND bucket = {_SQLITE_DAY.format(row=row)}"
        f" AND dimension_set = {row}.dimension_set AND shard = {row}.shard;"
    )


SQLITE = [
    f"CREATE TRIGGER metering_usage_days_insert AFTER INSERT ON {_HOURS}"
    f" BEGIN {_sqlite_add('NEW')} END",
    f"CREATE TRIGGER metering_usage_days_update AFTER UPDATE ON {_HOURS}"
    f" BEGIN {_sqlite_subtract('OLD')} {_sqlite_add('NEW')} END",
    f"CREATE TRIGGER metering_usage_days_delete AFTER DELETE ON {_HOURS}"
    f" BEGIN {_sqlite_subtract('OLD')} END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS metering_usage_days_insert",
    "DROP TRIGGER IF EXISTS metering_usage_days_update",
    "DROP TRIGGER IF EXISTS metering_usage_days_delete",
]


def _backfill(vendor: str) -> str:
    """The days of the hours stored before the triggers."""
    day = PG_DAY if vendor == "postgresql" else _SQLITE_DAY.format(row=_HOURS)
    return (
        f"INSERT INTO {DAYS} ({KEY}, value_sum, event_count)"
        f" SELECT customer_id, meter_id, {day}, dimension_set, shard,"
        f" sum(value_sum), sum(event_count) FROM {_HOURS}"
        f" GROUP BY customer_id, meter_id, {day}, dimension_set, shard"
    )


def install(apps, schema_editor) -> None:
    """Migration step: fill the days from the hours stored, then keep them."""
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": POSTGRES, "sqlite": SQLITE}.get(vendor)
    if statements is None:
        raise RuntimeError(f"no daily rollup triggers for {vendor}")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(_backfill(vendor))
        for statement in statements:
            cursor.execute(statement)


def uninstall(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    statements = POSTGRES_DROP if vendor == "postgresql" else SQLITE_DROP
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
