"""Usage counted once per (meter, customer) instead of once per (alert, customer).

Each kept ``AlertProgress`` becomes a mark of minus its value at its alert's
creation, on a counter of zero: the counter minus the mark is the progress. A
filtered alert counted already but with no progress row gets a mark of zero.
"""

import django.db.models.deletion
from django.db import migrations, models


def progress_to_marks(apps, schema_editor):
    alert = apps.get_model("alerts", "Alert")
    cursor = apps.get_model("alerts", "AlertCursor")
    progress = apps.get_model("alerts", "AlertProgress")
    trigger = apps.get_model("alerts", "AlertTrigger")
    counter = apps.get_model("alerts", "UsageCounter")
    mark = apps.get_model("alerts", "UsageMark")
    rows = progress.objects.values_list(
        "alert__meter_id", "customer_id", "alert__after_event_id", "value"
    )
    marks = {(m, c, at): -value for m, c, at, value in rows.order_by("pk")}
    # A filtered alert counted already with nothing counted yet had no row; the
    # counted pass starts from its mark: a mark at zero.
    counted_through = cursor.objects.values_list("event_id", flat=True).first() or 0
    fired = set(trigger.objects.values_list("alert_id", "customer_id"))
    waiting = alert.objects.filter(
        alert_type="usage_threshold",
        customer__isnull=False,
        meter__event_time_window__isnull=True,
        meter__formula__in=["sum", "count"],
        after_event_id__lte=counted_through,
    ).exclude(status="archived")
    for pk, m, c, at in waiting.values_list(
        "pk", "meter_id", "customer_id", "after_event_id"
    ):
        if (pk, c) not in fired:
            marks.setdefault((m, c, at), 0)
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
