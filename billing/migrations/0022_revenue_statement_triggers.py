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

# Each figure of each counted row, taken out (o) and put in (n), summed per month.
# Only the columns read are carried (a transition table's row is the whole row).
_COUNTED = ", ".join(
    ("livemode", "currency", "status", "finalized_at", "paid_at", "total")
    + ("amount_paid", "amount_remaining")
)
REVENUE = f"""
WITH {{tables}}
counted AS (
    SELECT -1 AS sign, {_COUNTED} FROM o WHERE status IN {INVOICED}
    UNION ALL
    SELECT 1 AS sign, {_COUNTED} FROM n WHERE status IN {INVOICED}
)
INSERT INTO billing_revenuemonth (livemode, kind, month, currency, shard, amount)
SELECT livemode, figure.kind, date_trunc('month', figure.at AT TIME ZONE 'UTC')::date,
       currency, (SELECT billing_revenue_shard()), sum(sign * figure.amount)
FROM counted CROSS JOIN LATERAL (VALUES
    ('invoiced', finalized_at, total),
    ('collected', CASE WHEN status = 'paid' THEN paid_at END, amount_paid),
    ('open', CASE WHEN status = 'open' THEN finalized_at END, amount_remaining)
) AS figure (kind, at, amount)
WHERE figure.at IS NOT NULL
GROUP BY 1, 2, 3, 4 HAVING sum(sign * figure.amount) <> 0 ORDER BY 1, 2, 3, 4
ON CONFLICT (month, kind, currency, livemode, shard)
DO UPDATE SET amount = billing_revenuemonth.amount + EXCLUDED.amount;
"""

# Usage lines are frozen once final: they move only when their invoice enters
# or leaves the invoiced statuses, or changes month, mode or customer. Products
# are summed into the transaction's shard; customers (one row each, the top
# customers' index order) into shard 0, as 0020 does.
_PLACE = (
    "(a.finalized_at, a.livemode, a.customer_id)"
    " IS NOT DISTINCT FROM (b.finalized_at, b.livemode, b.customer_id)"
)
_USAGE_UPSERT = """
ON CONFLICT (month, dimension, key, currency, livemode, shard)
DO UPDATE SET amount = billing_usagerevenuemonth.amount + EXCLUDED.amount"""
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
),
usage AS (
    SELECT moved.livemode, moved.customer_id, line.currency, line.price_id,
           date_trunc('month', moved.finalized_at AT TIME ZONE 'UTC')::date AS month,
           moved.sign * line.amount AS amount
    FROM moved CROSS JOIN LATERAL (
        -- The plan is made once for any size of statement: each invoice's lines
        -- are read through their index (OFFSET 0 keeps the join from being
        -- planned as a scan of every line for each invoice).
        SELECT currency, price_id, amount FROM billing_invoicelineitem
        WHERE invoice_id = moved.id AND kind IN ('metered', 'late_usage') OFFSET 0
    ) AS line
),
by_product AS (
    INSERT INTO billing_usagerevenuemonth
        (livemode, month, dimension, key, currency, shard, amount)
    SELECT usage.livemode, usage.month, 'product', coalesce(price.product_id, ''),
           usage.currency, (SELECT billing_revenue_shard()), sum(usage.amount)
    FROM usage LEFT JOIN catalog_price AS price ON price.id = usage.price_id
    GROUP BY 1, 2, 4, 5 HAVING sum(usage.amount) <> 0 ORDER BY 1, 2, 4, 5
    {_USAGE_UPSERT}
)
INSERT INTO billing_usagerevenuemonth
    (livemode, month, dimension, key, currency, shard, amount)
SELECT livemode, month, 'customer', customer_id, currency, 0, sum(amount)
FROM usage
GROUP BY 1, 2, 4, 5 HAVING sum(amount) <> 0 ORDER BY 1, 2, 4, 5
{_USAGE_UPSERT};
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
