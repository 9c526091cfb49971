"""The rollups' insert and update triggers skip the ingest statements by calling
``metering_rollups_unmarked()`` instead of evaluating the mark's expression in
their WHEN (``metering.storage.summaries``): PostgreSQL compiled that expression
again, for each trigger, in every statement writing the rollups."""

from django.db import migrations

from metering.storage import summaries


class Migration(migrations.Migration):
    dependencies = [
        ("metering", "0014_rollup_fillfactor"),
    ]

    operations = [
        migrations.RunPython(summaries.install_function, summaries.uninstall_function),
    ]
