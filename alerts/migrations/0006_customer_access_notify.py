"""A committed change of a check snapshot tells every web process (PostgreSQL).

Each write of an ``alerts_customeraccess`` row (the rewrite by an evaluation, the
first insert under ``access_lock``, the cascade of a deleted customer) sends
``NOTIFY tally_access, '<mode>:<customer id>'`` from inside its transaction, so it
is delivered on commit and never for a rollback. Web processes listening
(``alerts.services.snapshot_listener``) drop the customer's cached snapshot. A
trigger rather than calls in the services: no writer, present or future, can
forget it. An update that changes nothing a check answers stays silent.
SQLite has no listeners: nothing is installed there.
"""

from django.db import migrations

CHANNEL = "tally_access"

POSTGRES = f"""
CREATE OR REPLACE FUNCTION alerts_customer_access_notify() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('{CHANNEL}',
            CASE WHEN OLD.livemode THEN 'live:' ELSE 'test:' END || OLD.customer_id);
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF (OLD.etag, OLD.livemode, OLD.customer_id)
            IS NOT DISTINCT FROM (NEW.etag, NEW.livemode, NEW.customer_id) THEN
            RETURN NULL;
        END IF;
        IF (OLD.livemode, OLD.customer_id)
            IS DISTINCT FROM (NEW.livemode, NEW.customer_id) THEN
            PERFORM pg_notify('{CHANNEL}',
                CASE WHEN OLD.livemode THEN 'live:' ELSE 'test:' END
                || OLD.customer_id);
        END IF;
    END IF;
    PERFORM pg_notify('{CHANNEL}',
        CASE WHEN NEW.livemode THEN 'live:' ELSE 'test:' END || NEW.customer_id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER alerts_customer_access_notify
    AFTER INSERT OR UPDATE OR DELETE ON alerts_customeraccess
    FOR EACH ROW EXECUTE FUNCTION alerts_customer_access_notify();
"""

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS alerts_customer_access_notify ON alerts_customeraccess;
DROP FUNCTION IF EXISTS alerts_customer_access_notify();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP)


class Migration(migrations.Migration):
    dependencies = [("alerts", "0005_credit_balance_alerts")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
