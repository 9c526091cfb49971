"""SQLite's invoice guards also ask ``billing_guards_active()`` (see billing/db.py).

PostgreSQL is unchanged: emptying a test database truncates, firing no row trigger.
"""

import importlib

from django.db import migrations

_guards = importlib.import_module("billing.migrations.0002_immutable_invoices")
_WHEN = "FOR EACH ROW WHEN "


def _switchable(statement: str) -> str:
    return statement.replace(_WHEN, f"{_WHEN}billing_guards_active() AND ", 1)


def recreate(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    for statement in _guards.SQLITE_DROP:
        schema_editor.execute(statement, params=None)
    for statement in _guards.SQLITE:
        schema_editor.execute(_switchable(statement), params=None)


def restore(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    for statement in _guards.SQLITE_DROP:
        schema_editor.execute(statement, params=None)
    for statement in _guards.SQLITE:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_immutable_invoices")]

    operations = [migrations.RunPython(recreate, restore)]
