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


def _guard(partial: bool):
    def run(apps, schema_editor) -> None:
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            schema_editor.execute(_postgres_function(partial), params=None)
        elif vendor == "sqlite":
            schema_editor.execute(
                "DROP TRIGGER IF EXISTS billing_invoice_guard_update", params=None
            )
            schema_editor.execute(_sqlite_update_trigger(partial), params=None)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0004_item_position'),
    ]

    operations = [
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
        migrations.RunPython(_guard(partial=True), _guard(partial=False)),
    ]
