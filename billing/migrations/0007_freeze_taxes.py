"""A finalized invoice's taxes are frozen in the database too (see 0002).

A separate trigger, so the guards of 0002 stay as they are: once an invoice
leaves ``draft``, its tax totals, default tax rates and the customer's tax
status and tax ids as billed never change. Lines are frozen whole by 0002.
"""

from django.db import migrations

FROZEN = ("total_taxes", "default_tax_rates", "customer_tax_exempt", "customer_tax_ids")
MESSAGE = "billing: invoice % is finalized; its taxes cannot change"

POSTGRES = f"""
CREATE OR REPLACE FUNCTION billing_invoice_tax_guard() RETURNS trigger AS $$
BEGIN
    IF OLD.status <> 'draft' AND
       ({", ".join(f"NEW.{c}" for c in FROZEN)})
       IS DISTINCT FROM ({", ".join(f"OLD.{c}" for c in FROZEN)}) THEN
        RAISE EXCEPTION '{MESSAGE}', OLD.id USING ERRCODE = '23000';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoice_tax_guard
    BEFORE UPDATE ON billing_invoice
    FOR EACH ROW EXECUTE FUNCTION billing_invoice_tax_guard();
"""

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS billing_invoice_tax_guard ON billing_invoice;
DROP FUNCTION IF EXISTS billing_invoice_tax_guard();
"""

SQLITE = f"""
CREATE TRIGGER billing_invoice_tax_guard BEFORE UPDATE ON billing_invoice
FOR EACH ROW WHEN billing_guards_active() AND OLD.status <> 'draft' AND (
    {" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FROZEN)}
)
BEGIN SELECT RAISE(ABORT, 'billing: invoice is finalized; its taxes cannot change');
END
"""

SQLITE_DROP = "DROP TRIGGER IF EXISTS billing_invoice_tax_guard"


def create_guard(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE, params=None)


def drop_guard(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("billing", "0006_taxes")]

    operations = [migrations.RunPython(create_guard, drop_guard)]
