"""The hourly rollups' meter and customer keys lose their database constraints, as
the events' have none: each new rollup row queued two key checks for its commit,
and with dimensions an hour has a row per set (bench dimensions: a tenth of the
PostgreSQL CPU per event of a 3-dimension bulk import). The ORM still cascades.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0012_event_data_lz4"),
        ("metering", "0014_rollup_fillfactor"),
    ]

    operations = [
        migrations.AlterField(
            model_name="meterusagerollup",
            name="customer",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="core.customer",
            ),
        ),
        migrations.AlterField(
            model_name="meterusagerollup",
            name="meter",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="metering.meter",
            ),
        ),
    ]
