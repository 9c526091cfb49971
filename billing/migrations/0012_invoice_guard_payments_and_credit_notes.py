"""One finalized-invoice guard that allows both partial payments and credit notes.

0005 opened the guard of 0002 to partial payments (an open invoice's
``amount_paid`` grows and ``amount_paid + amount_remaining`` stays what is due);
0011, written beside it, opened it to pre-payment credit notes (``amount_due``
moves against ``pre_payment_credit_notes_amount``, ``amount_remaining`` with it).
Each replaced the same trigger, so the later one closed the other's opening: this
guard holds both. While the status stays the same, a finalized invoice may only
see ``amount_remaining`` move by what ``amount_due`` moved less what
``amount_paid`` grew, ``amount_paid`` only grow and only while open, and
``amount_due + pre_payment_credit_notes_amount`` never change.
"""

import importlib

from django.db import migrations

_guards = importlib.import_module("billing.migrations.0002_immutable_invoices")
_notes = importlib.import_module("billing.migrations.0011_credit_note_guards")

FROZEN = _notes.FROZEN
CREDITED = _notes.CREDITED

_SAME_STATUS_PG = """(NEW.status = OLD.status AND (
            NEW.amount_remaining - OLD.amount_remaining IS DISTINCT FROM
               (NEW.amount_due - OLD.amount_due) - (NEW.amount_paid - OLD.amount_paid)
            OR NOT (NEW.amount_paid = OLD.amount_paid
                    OR (NEW.status = 'open' AND NEW.amount_paid > OLD.amount_paid))))"""

_SAME_STATUS_SQLITE = """(NEW.status = OLD.status AND (
        NEW.amount_remaining - OLD.amount_remaining
           IS NOT (NEW.amount_due - OLD.amount_due) - (NEW.amount_paid - OLD.amount_paid)
        OR NOT (NEW.amount_paid = OLD.amount_paid
                OR (NEW.status = 'open' AND NEW.amount_paid > OLD.amount_paid))))"""

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
       OR {_SAME_STATUS_PG} THEN
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
    OR {_SAME_STATUS_SQLITE}
)
{_guards._SQLITE_RAISE}
"""


def forward(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(_notes._DROP_SQLITE_UPDATE, params=None)
        schema_editor.execute(SQLITE_UPDATE, params=None)


class Migration(migrations.Migration):
    dependencies = [("billing", "0011_credit_note_guards")]

    operations = [migrations.RunPython(forward, _notes.forward)]
