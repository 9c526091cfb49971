"""Rollup shards: concurrent writers of an hour each update a row of their own."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("metering", "0003_lighter_event_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="meterusagerollup",
            name="shard",
            field=models.PositiveSmallIntegerField(db_default=0, default=0),
        ),
        migrations.RemoveConstraint(
            model_name="meterusagerollup",
            name="meter_rollup_bucket_once",
        ),
        migrations.AddConstraint(
            model_name="meterusagerollup",
            constraint=models.UniqueConstraint(
                fields=("customer", "meter", "bucket", "shard"),
                name="meter_rollup_bucket_once",
                opclasses=[
                    "varchar_pattern_ops",
                    "varchar_pattern_ops",
                    "timestamptz_ops",
                    "int2_ops",
                ],
            ),
        ),
    ]
