"""Credit notes may lower a finalized invoice's ``amount_due`` / ``amount_remaining``.

The guards of migration 0002 are replaced by the same guards with one opening: a
pre-payment credit note takes its amount off ``amount_due`` and
``amount_remaining`` while adding it to ``pre_payment_credit_notes_amount`` (and
a void gives it back), so ``amount_due + pre_payment_credit_notes_amount`` never
changes once the invoice is final, and ``amount_remaining`` moves with
``amount_due`` only. Everything else 0002 froze stays frozen.
"""

import importlib

from django.db import migrations

_guards = importlib.import_module("billing.migrations.0002_immutable_invoices")
_switch = importlib.import_module("billing.migrations.0003_sqlite_guard_switch")

FROZEN = tuple(column for column in _guards.FROZEN if column != "amount_due")
CREDITED = "pre_payment_credit_notes_amount"

POSTGRES = f"""
CREATE OR REPLACE FUNCTION billing_invoice_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' AND OLD.test_clock_id IS NULL THEN
            RAISE EXCEPTION '{_guards.MESSAGE}', OLD.id USING ERRCODE = '23000';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status = 'draft' THEN
        RETURN NEW;
    END IF;
    IF ({", ".join(f"NEW.{c}" for c in FROZEN)})
        IS DISTINCT FROM ({", ".join(f"OLD.{c}" for c in FROZEN)})
       OR NEW.amount_due + NEW.{CREDITED} IS DISTINCT FROM
          OLD.amount_due + OLD.{CREDITED}
       OR (NEW.status <> OLD.status AND NOT ({_guards.ALLOWED_MOVES}))
       OR (NEW.status = OLD.status AND (
            NEW.amount_paid IS DISTINCT FROM OLD.amount_paid
            OR NEW.amount_remaining - OLD.amount_remaining IS DISTINCT FROM
               NEW.amount_due - OLD.amount_due)) THEN
        RAISE EXCEPTION '{_guards.MESSAGE}', OLD.id USING ERRCODE = '23000';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""

SQLITE_UPDATE = f"""
CREATE TRIGGER billing_invoice_guard_update BEFORE UPDATE ON billing_invoice
FOR EACH ROW WHEN billing_guards_active() AND OLD.status <> 'draft' AND (
    {" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FROZEN)}
    OR NEW.amount_due + NEW.{CREDITED} IS NOT OLD.amount_due + OLD.{CREDITED}
    OR (NEW.status <> OLD.status AND NOT ({_guards.ALLOWED_MOVES}))
    OR (NEW.status = OLD.status AND (NEW.amount_paid IS NOT OLD.amount_paid
        OR NEW.amount_remaining - OLD.amount_remaining
           IS NOT NEW.amount_due - OLD.amount_due))
)
{_guards._SQLITE_RAISE}
"""

_DROP_SQLITE_UPDATE = "DROP TRIGGER IF EXISTS billing_invoice_guard_update"


def _sqlite_0003_update() -> str:
    (statement,) = [s for s in _guards.SQLITE if "guard_update BEFORE UPDATE" in s]
    return _switch._switchable(statement)


def forward(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(_DROP_SQLITE_UPDATE, params=None)
        schema_editor.execute(SQLITE_UPDATE, params=None)


def backward(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(_guards.POSTGRES.split("CREATE TRIGGER")[0], params=None)
    elif vendor == "sqlite":
        schema_editor.execute(_DROP_SQLITE_UPDATE, params=None)
        schema_editor.execute(_sqlite_0003_update(), params=None)


class Migration(migrations.Migration):
    dependencies = [("billing", "0010_credit_notes")]

    operations = [migrations.RunPython(forward, backward)]
