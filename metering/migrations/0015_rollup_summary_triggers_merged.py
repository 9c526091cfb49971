"""The rollups' insert and update triggers: one per event for the hourly totals
and the daily rollups, whose WHEN calls a function to skip the ingest
statements (``metering.storage.summary_triggers``), in place of the totals' and
the days' own, which compiled the mark's expression in every ingest statement.
The functions of the triggers replaced stay: the reverse puts those back."""

from django.db import migrations

from metering.storage import summary_triggers


class Migration(migrations.Migration):
    dependencies = [
        ("metering", "0014_rollup_fillfactor"),
    ]

    operations = [
        migrations.RunPython(summary_triggers.install, summary_triggers.uninstall),
    ]
