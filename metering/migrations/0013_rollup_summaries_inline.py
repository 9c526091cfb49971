"""The ingest statements add their hours to the daily rollups and the hourly
totals themselves (``metering.storage.summaries``): the rollups' insert and update
triggers skip the statements so marked, and keep every other writer's."""

from django.db import migrations

from metering.storage import summaries


class Migration(migrations.Migration):
    dependencies = [
        ("metering", "0012_meter_hour_totals"),
    ]

    operations = [
        migrations.RunPython(summaries.install, summaries.uninstall),
    ]
