"""Meter events remember the Idempotency-Key that created them (its digest)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("metering", "0004_rollup_shards"),
    ]

    operations = [
        migrations.AddField(
            model_name="meterevent",
            name="request_key",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
    ]
