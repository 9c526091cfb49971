"""Finalized invoices are immutable in the database, not only in the services.

Once an invoice leaves ``draft``:
- its amounts, currency, customer, number, period and credits never change;
- its status moves only along Stripe's machine (open → paid | void | uncollectible,
  uncollectible → paid | void), and amount_paid / amount_remaining only with it;
- its lines cannot be inserted, updated or deleted;
- it cannot be deleted, except together with its test clock (simulated data).
Status timestamps, metadata, description and ``webhooks_delivered_at`` stay writable.
"""

from django.db import migrations

FROZEN = (
    "customer_id",
    "subscription_id",
    "currency",
    "number",
    "billing_reason",
    "collection_method",
    "period_start",
    "period_end",
    "subtotal",
    "total",
    "starting_balance",
    "ending_balance",
    "amount_due",
    "total_pretax_credit_amounts",
    "threshold_reason",
    "due_date",
    "finalized_at",
)

ALLOWED_MOVES = (
    "(OLD.status = 'open' AND NEW.status IN ('paid', 'void', 'uncollectible'))"
    " OR (OLD.status = 'uncollectible' AND NEW.status IN ('paid', 'void'))"
)

MESSAGE = "billing: invoice % is finalized; its amounts and lines cannot change"

POSTGRES = f"""
CREATE OR REPLACE FUNCTION billing_invoice_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' AND OLD.test_clock_id IS NULL THEN
            RAISE EXCEPTION '{MESSAGE}', OLD.id USING ERRCODE = '23000';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status = 'draft' THEN
        RETURN NEW;
    END IF;
    IF ({", ".join(f"NEW.{c}" for c in FROZEN)})
        IS DISTINCT FROM ({", ".join(f"OLD.{c}" for c in FROZEN)})
       OR (NEW.status <> OLD.status AND NOT ({ALLOWED_MOVES}))
       OR (NEW.status = OLD.status AND (NEW.amount_paid, NEW.amount_remaining)
           IS DISTINCT FROM (OLD.amount_paid, OLD.amount_remaining)) THEN
        RAISE EXCEPTION '{MESSAGE}', OLD.id USING ERRCODE = '23000';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoice_guard
    BEFORE UPDATE OR DELETE ON billing_invoice
    FOR EACH ROW EXECUTE FUNCTION billing_invoice_guard();

CREATE OR REPLACE FUNCTION billing_invoice_line_guard() RETURNS trigger AS $$
DECLARE
    frozen boolean;
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT status <> 'draft' AND test_clock_id IS NULL INTO frozen
            FROM billing_invoice WHERE id = OLD.invoice_id;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT status <> 'draft' INTO frozen
            FROM billing_invoice WHERE id = NEW.invoice_id;
    ELSE
        SELECT bool_or(status <> 'draft') INTO frozen
            FROM billing_invoice WHERE id IN (OLD.invoice_id, NEW.invoice_id);
    END IF;
    IF frozen THEN
        RAISE EXCEPTION '{MESSAGE}', COALESCE(NEW.invoice_id, OLD.invoice_id)
            USING ERRCODE = '23000';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoice_line_guard
    BEFORE INSERT OR UPDATE OR DELETE ON billing_invoicelineitem
    FOR EACH ROW EXECUTE FUNCTION billing_invoice_line_guard();
"""

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS billing_invoice_line_guard ON billing_invoicelineitem;
DROP FUNCTION IF EXISTS billing_invoice_line_guard();
DROP TRIGGER IF EXISTS billing_invoice_guard ON billing_invoice;
DROP FUNCTION IF EXISTS billing_invoice_guard();
"""

_SQLITE_MESSAGE = "billing: invoice is finalized; its amounts and lines cannot change"
_SQLITE_RAISE = f"BEGIN SELECT RAISE(ABORT, '{_SQLITE_MESSAGE}'); END"

SQLITE = [
    f"""
    CREATE TRIGGER billing_invoice_guard_update BEFORE UPDATE ON billing_invoice
    FOR EACH ROW WHEN OLD.status <> 'draft' AND (
        {" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FROZEN)}
        OR (NEW.status <> OLD.status AND NOT ({ALLOWED_MOVES}))
        OR (NEW.status = OLD.status AND (NEW.amount_paid IS NOT OLD.amount_paid
            OR NEW.amount_remaining IS NOT OLD.amount_remaining))
    )
    {_SQLITE_RAISE}
    """,
    f"""
    CREATE TRIGGER billing_invoice_guard_delete BEFORE DELETE ON billing_invoice
    FOR EACH ROW WHEN OLD.status <> 'draft' AND OLD.test_clock_id IS NULL
    {_SQLITE_RAISE}
    """,
    f"""
    CREATE TRIGGER billing_invoice_line_guard_insert
    BEFORE INSERT ON billing_invoicelineitem
    FOR EACH ROW WHEN (
        SELECT status FROM billing_invoice WHERE id = NEW.invoice_id
    ) <> 'draft'
    {_SQLITE_RAISE}
    """,
    f"""
    CREATE TRIGGER billing_invoice_line_guard_update
    BEFORE UPDATE ON billing_invoicelineitem
    FOR EACH ROW WHEN EXISTS (
        SELECT 1 FROM billing_invoice
        WHERE id IN (OLD.invoice_id, NEW.invoice_id) AND status <> 'draft'
    )
    {_SQLITE_RAISE}
    """,
    f"""
    CREATE TRIGGER billing_invoice_line_guard_delete
    BEFORE DELETE ON billing_invoicelineitem
    FOR EACH ROW WHEN EXISTS (
        SELECT 1 FROM billing_invoice
        WHERE id = OLD.invoice_id AND status <> 'draft' AND test_clock_id IS NULL
    )
    {_SQLITE_RAISE}
    """,
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS billing_invoice_guard_update",
    "DROP TRIGGER IF EXISTS billing_invoice_guard_delete",
    "DROP TRIGGER IF EXISTS billing_invoice_line_guard_insert",
    "DROP TRIGGER IF EXISTS billing_invoice_line_guard_update",
    "DROP TRIGGER IF EXISTS billing_invoice_line_guard_delete",
]


def _run(schema_editor, statements) -> None:
    for statement in statements:
        schema_editor.execute(statement, params=None)


def create_guards(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, [POSTGRES])
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE)
    else:
        raise RuntimeError(f"no invoice immutability triggers for {vendor}")


def drop_guards(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, [POSTGRES_DROP])
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(create_guards, drop_guards)]
