"""Lighter indexes for bulk ingestion (issue #4).

The events table's unique key and indexes, and the rollups' keys, compare text
byte-wise (``varchar_pattern_ops``) on PostgreSQL. The rollups' unique key now leads with the customer, so the
customer foreign key needs no index of its own, and their table keeps room on each
page for the next version of a row (fillfactor), so that most updates stay on the
page and touch no index.
"""

import django.db.models.deletion
from django.db import migrations, models

ROLLUP_FILLFACTOR = 80


def _rollup_fillfactor(value):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                f"ALTER TABLE metering_meterusagerollup SET (fillfactor = {value})"
            )

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("metering", "0002_events_rollups_sessions"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="meterevent",
            name="meter_event_identifier_once",
        ),
        migrations.RemoveConstraint(
            model_name="meterusagerollup",
            name="meter_rollup_bucket_once",
        ),
        migrations.RemoveIndex(
            model_name="meterevent",
            name="meter_event_by_time",
        ),
        migrations.RemoveIndex(
            model_name="meterevent",
            name="meter_event_by_receipt",
        ),
        migrations.RemoveIndex(
            model_name="meterusagerollup",
            name="meter_rollup_by_time",
        ),
        migrations.AlterField(
            model_name="meterusagerollup",
            name="customer",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="core.customer",
            ),
        ),
        migrations.AddConstraint(
            model_name="meterevent",
            constraint=models.UniqueConstraint(
                fields=("event_name", "identifier"),
                name="meter_event_identifier_once",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops"],
            ),
        ),
        migrations.AddIndex(
            model_name="meterevent",
            index=models.Index(
                fields=["customer", "meter", "timestamp"],
                name="meter_event_by_time",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops", "timestamptz_ops"],
            ),
        ),
        migrations.AddIndex(
            model_name="meterevent",
            index=models.Index(
                fields=["customer", "meter", "created"],
                name="meter_event_by_receipt",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops", "timestamptz_ops"],
            ),
        ),
        migrations.AddConstraint(
            model_name="meterusagerollup",
            constraint=models.UniqueConstraint(
                fields=("customer", "meter", "bucket"),
                name="meter_rollup_bucket_once",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops", "timestamptz_ops"],
            ),
        ),
        migrations.AddIndex(
            model_name="meterusagerollup",
            index=models.Index(
                fields=["meter", "bucket"],
                name="meter_rollup_by_time",
                opclasses=["varchar_pattern_ops", "timestamptz_ops"],
            ),
        ),
        migrations.RunPython(
            _rollup_fillfactor(ROLLUP_FILLFACTOR),
            _rollup_fillfactor(100),
            elidable=False,
        ),
    ]
