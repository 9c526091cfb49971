"""Credit notes' ``refunds``: the refunds their ``refund_amount`` was given back by.

On SQLite, adding a column with a default rebuilds the table; the database's
guard triggers are set aside first and made again after
(``core.migration_ops.sqlite_triggers_aside``).
"""

from django.db import migrations, models

from core.migration_ops import sqlite_triggers_aside

_ASIDE, _BACK = sqlite_triggers_aside()


class Migration(migrations.Migration):
    dependencies = [("billing", "0014_credit_note_documents")]

    operations = [
        _ASIDE,
        migrations.AddField(
            model_name="creditnote",
            name="refunds",
            field=models.JSONField(blank=True, default=list),
        ),
        _BACK,
    ]
