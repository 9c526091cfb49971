"""The credit ledger is append-only in the database, not only in the services.

A credit balance transaction is never updated, and never deleted, except together
with its customer's test clock (simulated data). SQLite's triggers also ask
``tally_guards_active()`` (core/guards.py), so a test database can be emptied.
"""

from django.db import migrations

MESSAGE = "credits: transaction % is in the ledger; it cannot change"

POSTGRES = f"""
CREATE OR REPLACE FUNCTION credits_ledger_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' OR NOT EXISTS (
        SELECT 1 FROM core_customer
        WHERE id = OLD.customer_id AND test_clock_id IS NOT NULL
    ) THEN
        RAISE EXCEPTION '{MESSAGE}', OLD.id USING ERRCODE = '23000';
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER credits_ledger_guard
    BEFORE UPDATE OR DELETE ON credits_creditbalancetransaction
    FOR EACH ROW EXECUTE FUNCTION credits_ledger_guard();
"""

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS credits_ledger_guard ON credits_creditbalancetransaction;
DROP FUNCTION IF EXISTS credits_ledger_guard();
"""

_SQLITE_RAISE = (
    "BEGIN SELECT RAISE(ABORT, "
    "'credits: the transaction is in the ledger; it cannot change'); END"
)
SQLITE = [
    f"""
    CREATE TRIGGER credits_ledger_guard_update
    BEFORE UPDATE ON credits_creditbalancetransaction
    FOR EACH ROW WHEN tally_guards_active()
    {_SQLITE_RAISE}
    """,
    f"""
    CREATE TRIGGER credits_ledger_guard_delete
    BEFORE DELETE ON credits_creditbalancetransaction
    FOR EACH ROW WHEN tally_guards_active() AND NOT EXISTS (
        SELECT 1 FROM core_customer
        WHERE id = OLD.customer_id AND test_clock_id IS NOT NULL
    )
    {_SQLITE_RAISE}
    """,
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS credits_ledger_guard_update",
    "DROP TRIGGER IF EXISTS credits_ledger_guard_delete",
]


def create_guards(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement, params=None)
    else:
        raise RuntimeError(f"no credit ledger triggers for {vendor}")


def drop_guards(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("credits", "0002_grant_expiry_notice"), ("core", "0001_initial")]

    operations = [migrations.RunPython(create_guards, drop_guards)]
