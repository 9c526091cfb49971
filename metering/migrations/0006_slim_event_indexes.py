"""Two cheaper indexes on meter events instead of two (customer, meter, ...) ones.

``(customer, timestamp)`` replaces ``(customer, meter, timestamp)``, and a BRIN index
on ``created`` replaces ``(customer, meter, created)``: bulk loads write each row in a
good part less time (see ``metering.models``). The new indexes are built before the
old ones go, so reads keep an index throughout.
"""

from django.db import migrations, models

import metering.models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_portal_session"),
        ("metering", "0005_event_request_key"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="meterevent",
            index=models.Index(
                fields=["customer", "timestamp"],
                name="meter_event_customer_time",
                opclasses=["varchar_pattern_ops", "timestamptz_ops"],
            ),
        ),
        migrations.AddIndex(
            model_name="meterevent",
            index=metering.models.BlockRangeIndex(
                fields=["created"], name="meter_event_received_brin"
            ),
        ),
        migrations.RemoveIndex(
            model_name="meterevent",
            name="meter_event_by_time",
        ),
        migrations.RemoveIndex(
            model_name="meterevent",
            name="meter_event_by_receipt",
        ),
    ]
