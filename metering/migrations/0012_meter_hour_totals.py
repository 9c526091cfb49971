"""Usage per meter and hour over every customer, kept by triggers on the rollups.

Statement triggers with transition tables: one upsert per statement, whatever
its number of rollup rows (a bulk import's thousands or a v1 event's one), in
key order so that concurrent statements lock totals in the same order. Inserted
rows add, deleted rows subtract, updated rows add their difference; each lands
in the rollup row's own shard (``metering.models.MeterHourTotal``). The existing
rollups are summed once, under a lock that holds writers off. SQLite: nothing.
"""

import django.db.models.deletion
from django.db import migrations, models

_UPSERT = """
    INSERT INTO metering_meterhourtotal
        (meter_id, bucket, shard, value_sum, event_count)
    SELECT meter_id, bucket, shard, sum(value_sum), sum(event_count)
    FROM ({rows}) AS changed
    GROUP BY meter_id, bucket, shard
    HAVING sum(value_sum) <> 0 OR sum(event_count) <> 0
    ORDER BY meter_id, bucket, shard
    ON CONFLICT (meter_id, bucket, shard) DO UPDATE SET
        value_sum = metering_meterhourtotal.value_sum + EXCLUDED.value_sum,
        event_count = metering_meterhourtotal.event_count + EXCLUDED.event_count;
"""
_ADDED = "SELECT meter_id, bucket, shard, value_sum, event_count FROM {table}"
_TAKEN = (
    "SELECT meter_id, bucket, shard, -value_sum AS value_sum,"
    " -event_count AS event_count FROM {table}"
)


def _function(name: str, rows: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
{_UPSERT.format(rows=rows)}
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


POSTGRES = (
    _function("metering_hour_total_insert", _ADDED.format(table="added"))
    + _function(
        "metering_hour_total_update",
        _ADDED.format(table="added") + " UNION ALL " + _TAKEN.format(table="taken"),
    )
    + _function("metering_hour_total_delete", _TAKEN.format(table="taken"))
    + """
CREATE OR REPLACE FUNCTION metering_hour_total_truncate() RETURNS trigger AS $$
BEGIN
    DELETE FROM metering_meterhourtotal;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER metering_hour_total_insert AFTER INSERT ON metering_meterusagerollup
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION metering_hour_total_insert();
CREATE TRIGGER metering_hour_total_update AFTER UPDATE ON metering_meterusagerollup
    REFERENCING OLD TABLE AS taken NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION metering_hour_total_update();
CREATE TRIGGER metering_hour_total_delete AFTER DELETE ON metering_meterusagerollup
    REFERENCING OLD TABLE AS taken
    FOR EACH STATEMENT EXECUTE FUNCTION metering_hour_total_delete();
CREATE TRIGGER metering_hour_total_truncate AFTER TRUNCATE ON metering_meterusagerollup
    FOR EACH STATEMENT EXECUTE FUNCTION metering_hour_total_truncate();

LOCK TABLE metering_meterusagerollup IN SHARE MODE;
"""
    + _UPSERT.format(rows=_ADDED.format(table="metering_meterusagerollup"))
)

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS metering_hour_total_insert ON metering_meterusagerollup;
DROP TRIGGER IF EXISTS metering_hour_total_update ON metering_meterusagerollup;
DROP TRIGGER IF EXISTS metering_hour_total_delete ON metering_meterusagerollup;
DROP TRIGGER IF EXISTS metering_hour_total_truncate ON metering_meterusagerollup;
DROP FUNCTION IF EXISTS metering_hour_total_insert();
DROP FUNCTION IF EXISTS metering_hour_total_update();
DROP FUNCTION IF EXISTS metering_hour_total_delete();
DROP FUNCTION IF EXISTS metering_hour_total_truncate();
"""


def _install(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES, params=None)


def _remove(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("metering", "0011_daily_rollups"),
    ]

    operations = [
        migrations.CreateModel(
            name="MeterHourTotal",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("bucket", models.DateTimeField()),
                ("shard", models.PositiveSmallIntegerField(default=0)),
                ("value_sum", models.DecimalField(decimal_places=0, max_digits=38)),
                ("event_count", models.BigIntegerField()),
                (
                    "meter",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="metering.meter",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("meter", "bucket", "shard"),
                        name="meter_hour_total_once",
                    )
                ],
            },
        ),
        migrations.RunPython(_install, _remove),
    ]
