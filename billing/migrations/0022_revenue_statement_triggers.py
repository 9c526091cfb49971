"""The revenue months (0020) kept by one trigger call per statement, not per row.

Finalize writes a chunk of invoices in one ``UPDATE`` (``core.bulk``); the row
triggers of 0020 then ran an upsert per figure and a read of the usage lines per
invoice, as much database time as the rest of finalize. These triggers see the
statement's rows as transition tables (``o``: before, ``n``: after) and add
their changes per month, kind, currency and mode at once: one upsert of
``RevenueMonth`` and one read of the moved invoices' usage lines per statement.
The figures are the same (the tests compare them with a recount); each
transaction still writes its own shard (an advisory lock), so concurrent
finalizations never wait for one another's row.

PostgreSQL lets a trigger with transition tables have one event, no column list
and no ``WHEN``: hence one trigger (and function) per event, built from one
template where the missing table is an empty one of the other's rows.
"""

from importlib import import_module

from django.db import migrations

SHARDS = 16
SHARD_LOCKS = 0x72766E6D  # "rvnm", as 0020
INVOICED = "('open', 'paid', 'uncollectible')"

SHARD = f"""
CREATE OR REPLACE FUNCTION billing_revenue_shard() RETURNS int AS $$
    SELECT coalesce(
        (SELECT k FROM generate_series(0, {SHARDS - 1}) AS k
         WHERE pg_try_advisory_xact_lock({SHARD_LOCKS}, k) LIMIT 1),
        floor(random() * {SHARDS})::int);
$$ LANGUAGE sql VOLATILE;
"""

# Each figure of each row, taken out (o) and put in (n), summed per month.
REVENUE = f"""
WITH {{tables}}
changed AS (
    SELECT -1 AS sign, * FROM o UNION ALL SELECT 1 AS sign, * FROM n
),
moves AS (
    SELECT livemode, 'invoiced' AS kind, finalized_at AS at, currency,
           sign * total AS amount
    FROM changed WHERE status IN {INVOICED}
    UNION ALL
    SELECT livemode, 'collected', paid_at, currency, sign * amount_paid
    FROM changed WHERE status = 'paid'
    UNION ALL
    SELECT livemode, 'open', finalized_at, currency, sign * amount_remaining
    FROM changed WHERE status = 'open'
)
INSERT INTO billing_revenuemonth (livemode, kind, month, currency, shard, amount)
SELECT livemode, kind, date_trunc('month', at AT TIME ZONE 'UTC')::date, currency,
       (SELECT billing_revenue_shard()), sum(amount)
FROM moves WHERE at IS NOT NULL
GROUP BY 1, 2, 3, 4 HAVING sum(amount) <> 0 ORDER BY 1, 2, 3, 4
ON CONFLICT (month, kind, currency, livemode, shard)
DO UPDATE SET amount = billing_revenuemonth.amount + EXCLUDED.amount;
"""

# Usage lines are frozen once final: they move only when their invoice enters
# or leaves the invoiced statuses, or changes month, mode or customer.
_PLACE = "(a.finalized_at, a.livemode, a.customer_id) IS NOT DISTINCT FROM \
(b.finalized_at, b.livemode, b.customer_id)"
USAGE = f"""
WITH {{tables}}
moved AS (
    SELECT -1 AS sign, a.id, a.livemode, a.customer_id, a.finalized_at
    FROM o AS a LEFT JOIN n AS b
        ON b.id = a.id AND b.status IN {INVOICED} AND {_PLACE}
    WHERE a.status IN {INVOICED} AND a.finalized_at IS NOT NULL AND b.id IS NULL
    UNION ALL
    SELECT 1, a.id, a.livemode, a.customer_id, a.finalized_at
    FROM n AS a LEFT JOIN o AS b
        ON b.id = a.id AND b.status IN {INVOICED} AND {_PLACE}
    WHERE a.status IN {INVOICED} AND a.finalized_at IS NOT NULL AND b.id IS NULL
)
INSERT INTO billing_usagerevenuemonth
    (livemode, month, dimension, key, currency, shard, amount)
SELECT moved.livemode,
       date_trunc('month', moved.finalized_at AT TIME ZONE 'UTC')::date,
       dimension.name, dimension.key, line.currency,
       CASE WHEN dimension.name = 'product'
            THEN (SELECT billing_revenue_shard()) ELSE 0 END,
       sum(moved.sign * line.amount)
FROM moved
JOIN billing_invoicelineitem AS line ON line.invoice_id = moved.id
LEFT JOIN catalog_price AS price ON price.id = line.price_id
CROSS JOIN LATERAL (VALUES ('product', coalesce(price.product_id, '')),
                           ('customer', moved.customer_id)) AS dimension (name, key)
WHERE line.kind IN ('metered', 'late_usage')
GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(moved.sign * line.amount) <> 0
ORDER BY 1, 2, 3, 4, 5, 6
ON CONFLICT (month, dimension, key, currency, livemode, shard)
DO UPDATE SET amount = billing_usagerevenuemonth.amount + EXCLUDED.amount;
"""

# Per event: its transition tables, the one it lacks as an empty copy.
EVENTS = {
    "insert": ("NEW TABLE AS n", "o AS (SELECT * FROM n LIMIT 0),"),
    "update": ("OLD TABLE AS o NEW TABLE AS n", ""),
    "delete": ("OLD TABLE AS o", "n AS (SELECT * FROM o LIMIT 0),"),
}


def _trigger(event: str) -> str:
    referencing, tables = EVENTS[event]
    name = f"billing_revenue_rows_{event}"
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    {REVENUE.format(tables=tables)}
    {USAGE.format(tables=tables)}
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER {name} AFTER {event.upper()} ON billing_invoice
    REFERENCING {referencing}
    FOR EACH STATEMENT EXECUTE FUNCTION {name}();
"""


ROW_TRIGGERS_DROP = """
DROP TRIGGER IF EXISTS billing_revenue_month_insert ON billing_invoice;
DROP TRIGGER IF EXISTS billing_revenue_month_update ON billing_invoice;
DROP TRIGGER IF EXISTS billing_revenue_month_delete ON billing_invoice;
DROP FUNCTION IF EXISTS billing_revenue_month_track();
DROP FUNCTION IF EXISTS billing_usage_month_add(text, boolean, text, timestamptz, int);
DROP FUNCTION IF EXISTS
    billing_revenue_month_add(boolean, text, timestamptz, text, bigint);
"""

STATEMENT_TRIGGERS_DROP = "".join(
    f"DROP TRIGGER IF EXISTS billing_revenue_rows_{event} ON billing_invoice;\n"
    f"DROP FUNCTION IF EXISTS billing_revenue_rows_{event}();\n"
    for event in EVENTS
)


def _install(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    # The same figures either way: the kept rows stay, no recount is needed.
    schema_editor.execute(
        ROW_TRIGGERS_DROP + SHARD + "".join(map(_trigger, EVENTS)), params=None
    )


def _remove(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    previous = import_module("billing.migrations.0020_revenue_months")
    # 0020's script creates these two again along with its row triggers.
    schema_editor.execute(
        STATEMENT_TRIGGERS_DROP
        + "DROP FUNCTION IF EXISTS billing_revenue_shard();\n"
        + "DROP TRIGGER billing_usage_month_lines_gone ON billing_invoicelineitem;\n"
        + "DROP TRIGGER billing_revenue_month_truncate ON billing_invoice;\n"
        + previous.POSTGRES,
        params=None,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0021_commitment_proration_scope"),
    ]

    operations = [migrations.RunPython(_install, _remove)]
