"""The hourly rollups' meter and customer keys lose their database constraints, as
the events' have none: each new rollup row queued two key checks for its commit,
and with dimensions an hour has a row per set (bench dimensions: a tenth of the
PostgreSQL CPU per event of a 3-dimension bulk import). The ORM still cascades.

PostgreSQL only: SQLite would rebuild the table to drop them, and with it the
triggers that keep the daily rollups and hourly totals (0012); its constraints
cost no bulk path anything.
"""

import django.db.models.deletion
from django.db import migrations, models

_KEYS = ("meter", "customer")


def _drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("metering", "MeterUsageRollup")
    for key in _KEYS:
        column = model._meta.get_field(key).column
        for name in schema_editor._constraint_names(model, [column], foreign_key=True):
            schema_editor.execute(schema_editor._delete_fk_sql(model, name))


def _restore(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("metering", "MeterUsageRollup")
    for key in _KEYS:
        field = model._meta.get_field(key)
        schema_editor.execute(
            schema_editor._create_fk_sql(model, field, "_fk_%(to_table)s_%(to_column)s")
        )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0012_event_data_lz4"),
        ("metering", "0016_summaries_shard_unchecked"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="meterusagerollup",
                    name="customer",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="core.customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="meterusagerollup",
                    name="meter",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="metering.meter",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(_drop, _restore)],
        )
    ]
