"""The daily rollups' and hourly totals' ``shard`` loses its ``>= 0`` CHECK: the
value is the hours' own, checked there. PostgreSQL compiles a table's CHECKs
again in every statement that writes it, and every ingest statement writes both
tables (``metering.storage.summaries``): the two cost a v1 event's statement
about 4 % of its instructions. SQLite keeps them (nothing to gain, and its
AlterField would rebuild a table the rollups' triggers name)."""

from django.db import migrations, models

_CHECKS = (
    ("metering_meterusageday", "metering_meterusageday_shard_check"),
    ("metering_meterhourtotal", "metering_meterhourtotal_shard_check"),
)


def _drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for table, name in _CHECKS:
            schema_editor.execute(
                f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}", params=None
            )


def _add(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for table, name in _CHECKS:
            schema_editor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK (shard >= 0)",
                params=None,
            )


class Migration(migrations.Migration):
    dependencies = [
        ("metering", "0015_rollup_summary_triggers_merged"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="meterusageday",
                    name="shard",
                    field=models.SmallIntegerField(db_default=0, default=0),
                ),
                migrations.AlterField(
                    model_name="meterhourtotal",
                    name="shard",
                    field=models.SmallIntegerField(default=0),
                ),
            ],
            database_operations=[migrations.RunPython(_drop, _add)],
        ),
    ]
