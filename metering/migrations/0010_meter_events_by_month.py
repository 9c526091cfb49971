"""The dedupe keys of partitioned meter events, and the partitioning itself when
``TALLY_METER_EVENT_PARTITIONS`` is on (PostgreSQL; ``metering.storage.partitions``).

Converting copies every event once under the table's exclusive lock: ingestion
waits until it ends (``docs/deploy.md`` gives the rate). Off, nothing but the
empty keys table changes; ``manage.py meter_event_partitions convert`` does the
same later.
"""

from django.conf import settings
from django.db import migrations, models


def partition_events(apps, schema_editor):
    if (
        schema_editor.connection.vendor != "postgresql"
        or not settings.TALLY_METER_EVENT_PARTITIONS
    ):
        return
    from core import clock
    from metering.storage import partitions

    partitions.convert(now=clock.now())


def unpartition_events(apps, schema_editor):
    from metering.storage import partitions

    partitions.revert()


class Migration(migrations.Migration):
    dependencies = [
        ("metering", "0009_dimensions_and_aggregations"),
    ]

    operations = [
        migrations.CreateModel(
            name="MeterEventKey",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "livemode",
                        "event_name",
                        "identifier",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("livemode", models.BooleanField()),
                ("event_name", models.CharField(max_length=100)),
                ("identifier", models.CharField(max_length=100)),
                ("event_id", models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(partition_events, unpartition_events),
    ]
