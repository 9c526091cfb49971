"""Usage counted once per (meter, customer) instead of once per (alert, customer).

Each kept ``AlertProgress`` becomes a mark of minus its value at its alert's
creation, on a counter of zero: the counter minus the mark is the progress.
"""

import django.db.models.deletion
from django.db import migrations, models


def progress_to_marks(apps, schema_editor):
    progress = apps.get_model("alerts", "AlertProgress")
    counter = apps.get_model("alerts", "UsageCounter")
    mark = apps.get_model("alerts", "UsageMark")
    rows = progress.objects.values_list(
        "alert__meter_id", "customer_id", "alert__after_event_id", "value"
    )
    marks = {(m, c, at): -value for m, c, at, value in rows.order_by("pk")}
    counter.objects.bulk_create(
        [counter(meter_id=m, customer_id=c, value=0) for m, c in {k[:2] for k in marks}],
        batch_size=1000,
    )
    mark.objects.bulk_create(
        [
            mark(meter_id=m, customer_id=c, event_id=at, value=value)
            for (m, c, at), value in marks.items()
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0006_customer_access_notify"),
        ("core", "0011_webhook_delivery_failed_index"),
        ("metering", "0012_meter_hour_totals"),
    ]

    operations = [
        migrations.CreateModel(
            name="UsageCounter",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("value", models.DecimalField(decimal_places=0, max_digits=38)),
                (
                    "customer",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="core.customer",
                    ),
                ),
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
        ),
        migrations.CreateModel(
            name="UsageMark",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("event_id", models.BigIntegerField()),
                ("value", models.DecimalField(decimal_places=0, max_digits=38)),
                (
                    "customer",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="core.customer",
                    ),
                ),
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
        ),
        migrations.RunPython(progress_to_marks, migrations.RunPython.noop),
        migrations.DeleteModel(
            name="AlertProgress",
        ),
        migrations.AddConstraint(
            model_name="usagecounter",
            constraint=models.UniqueConstraint(
                fields=("meter", "customer"), name="usage_counter_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="usagemark",
            constraint=models.UniqueConstraint(
                fields=("meter", "customer", "event_id"), name="usage_mark_once"
            ),
        ),
        migrations.RemoveIndex(
            model_name="alert",
            name="alert_by_meter_customer",
        ),
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(
                fields=["meter", "customer", "after_event_id", "gte"],
                name="alert_by_meter_customer_mark",
            ),
        ),
    ]
