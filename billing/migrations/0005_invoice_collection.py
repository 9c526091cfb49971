"""Collection fields on invoices and subscriptions; partial payments on open invoices.

The invoice guard (0002) froze ``amount_paid`` / ``amount_remaining`` while the
status stays the same. An open invoice may now receive part of what it owes: its
paid amount only grows, and paid + remaining stays what was due.
"""

import importlib

from django.db import migrations, models


_guards = importlib.import_module("billing.migrations.0002_immutable_invoices")
_switch = importlib.import_module("billing.migrations.0003_sqlite_guard_switch")

_PG_FROZEN_AMOUNTS = """IS DISTINCT FROM (OLD.amount_paid, OLD.amount_remaining)) THEN"""
_PG_PARTIAL = """IS DISTINCT FROM (OLD.amount_paid, OLD.amount_remaining)
           AND NOT (NEW.status = 'open' AND NEW.amount_paid > OLD.amount_paid
                    AND NEW.amount_paid + NEW.amount_remaining
                        = OLD.amount_paid + OLD.amount_remaining)) THEN"""
_SQLITE_FROZEN_AMOUNTS = "OR NEW.amount_remaining IS NOT OLD.amount_remaining))"
_SQLITE_PARTIAL = (
    "OR NEW.amount_remaining IS NOT OLD.amount_remaining)"
    " AND NOT (NEW.status = 'open' AND NEW.amount_paid > OLD.amount_paid"
    " AND NEW.amount_paid + NEW.amount_remaining"
    " = OLD.amount_paid + OLD.amount_remaining))"
)


def _postgres_function(partial: bool) -> str:
    function = _guards.POSTGRES.split("CREATE TRIGGER billing_invoice_guard")[0]
    assert _PG_FROZEN_AMOUNTS in function
    if partial:
        function = function.replace(_PG_FROZEN_AMOUNTS, _PG_PARTIAL)
    return function


def _sqlite_update_trigger(partial: bool) -> str:
    statement = _switch._switchable(_guards.SQLITE[0])
    assert _SQLITE_FROZEN_AMOUNTS in statement
    if partial:
        statement = statement.replace(_SQLITE_FROZEN_AMOUNTS, _SQLITE_PARTIAL)
    return statement


def _sqlite_guards(partial: bool) -> list[str]:
    """Every SQLite guard trigger as 0003 left them, the update one partial or not."""
    statements = [_switch._switchable(statement) for statement in _guards.SQLITE]
    if partial:
        statements[0] = _sqlite_update_trigger(partial=True)
    return statements


def _sqlite_drop(apps, schema_editor) -> None:
    """SQLite rebuilds a table to add a column: its guards must be out of the way."""
    if schema_editor.connection.vendor == "sqlite":
        for statement in _guards.SQLITE_DROP:
            schema_editor.execute(statement, params=None)


def _install(partial: bool):
    def run(apps, schema_editor) -> None:
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            schema_editor.execute(_postgres_function(partial), params=None)
        elif vendor == "sqlite":
            for statement in _sqlite_guards(partial):
                schema_editor.execute(statement, params=None)

    return run


def _uninstall(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(_postgres_function(False), params=None)
    else:
        _sqlite_drop(apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0004_item_position'),
    ]

    operations = [
        migrations.RunPython(_sqlite_drop, _install(partial=False)),
        migrations.AddField(
            model_name='invoice',
            name='attempt_count',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='invoice',
            name='default_payment_method',
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AddField(
            model_name='invoice',
            name='next_payment_attempt',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='subscription',
            name='default_payment_method',
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.RunPython(_install(partial=True), _uninstall),
    ]
