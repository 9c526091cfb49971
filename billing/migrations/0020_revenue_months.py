"""Revenue and usage revenue per month kept by a trigger on invoices
(``billing.revenue``).

Each change of an invoice's status, total, amounts paid and remaining, currency
or the dates
that place it in a month takes its old contribution out of ``RevenueMonth`` and
puts the new one in, in the invoice's own transaction. Every transaction writes
its own shard (the first free transaction advisory lock of 16, as the meter
rollups do), so concurrent finalizations never wait for one another's row. The
existing invoices are counted once, under a lock that holds writers off. An
invoice entering or leaving the invoiced statuses (or its month) also adds or
takes out its usage lines per product and per customer (``UsageRevenueMonth``).
SQLite has no trigger: the home sums its invoices there.
"""

from django.db import migrations, models

SHARDS = 16
SHARD_LOCKS = 0x72766E6D  # "rvnm"

POSTGRES = f"""
CREATE OR REPLACE FUNCTION billing_revenue_month_add(
    p_mode boolean, p_kind text, p_at timestamptz, p_currency text, p_amount bigint
) RETURNS void AS $$
DECLARE
    p_shard int;
BEGIN
    IF p_at IS NULL OR p_amount = 0 THEN
        RETURN;
    END IF;
    p_shard := coalesce(
        (SELECT k FROM generate_series(0, {SHARDS - 1}) AS k
         WHERE pg_try_advisory_xact_lock({SHARD_LOCKS}, k) LIMIT 1),
        floor(random() * {SHARDS})::int);
    INSERT INTO billing_revenuemonth (livemode, kind, month, currency, shard, amount)
    VALUES (p_mode, p_kind, date_trunc('month', p_at AT TIME ZONE 'UTC')::date,
            p_currency, p_shard, p_amount)
    ON CONFLICT (month, kind, currency, livemode, shard)
    DO UPDATE SET amount = billing_revenuemonth.amount + EXCLUDED.amount;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION billing_usage_month_add(
    p_invoice text, p_mode boolean, p_customer text, p_at timestamptz, p_sign int
) RETURNS void AS $$
DECLARE
    p_month date := date_trunc('month', p_at AT TIME ZONE 'UTC')::date;
    p_shard int;
BEGIN
    IF p_at IS NULL THEN
        RETURN;
    END IF;
    p_shard := coalesce(
        (SELECT k FROM generate_series(0, {SHARDS - 1}) AS k
         WHERE pg_try_advisory_xact_lock({SHARD_LOCKS}, k) LIMIT 1),
        floor(random() * {SHARDS})::int);
    INSERT INTO billing_usagerevenuemonth
        (livemode, month, dimension, key, currency, shard, amount)
    SELECT p_mode, p_month, 'product', coalesce(price.product_id, ''),
           line.currency, p_shard, p_sign * sum(line.amount)
    FROM billing_invoicelineitem AS line
    LEFT JOIN catalog_price AS price ON price.id = line.price_id
    WHERE line.invoice_id = p_invoice AND line.kind IN ('metered', 'late_usage')
    GROUP BY 4, 5 ORDER BY 4, 5
    ON CONFLICT (month, dimension, key, currency, livemode, shard)
    DO UPDATE SET amount = billing_usagerevenuemonth.amount + EXCLUDED.amount;
    INSERT INTO billing_usagerevenuemonth
        (livemode, month, dimension, key, currency, shard, amount)
    SELECT p_mode, p_month, 'customer', p_customer, line.currency, 0,
           p_sign * sum(line.amount)
    FROM billing_invoicelineitem AS line
    WHERE line.invoice_id = p_invoice AND line.kind IN ('metered', 'late_usage')
    GROUP BY line.currency ORDER BY line.currency
    ON CONFLICT (month, dimension, key, currency, livemode, shard)
    DO UPDATE SET amount = billing_usagerevenuemonth.amount + EXCLUDED.amount;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION billing_revenue_month_track() RETURNS trigger AS $$
DECLARE
    was boolean := false;
    is_now boolean := false;
    same_place boolean := false;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        was := OLD.status IN ('open', 'paid', 'uncollectible');
    END IF;
    IF TG_OP <> 'DELETE' THEN
        is_now := NEW.status IN ('open', 'paid', 'uncollectible');
    END IF;
    IF TG_OP = 'UPDATE' THEN
        same_place := (OLD.finalized_at, OLD.livemode, OLD.customer_id)
            IS NOT DISTINCT FROM (NEW.finalized_at, NEW.livemode, NEW.customer_id);
    END IF;
    -- Usage lines are frozen once final: they move only in or out, or in time.
    IF was AND NOT (is_now AND same_place) THEN
        PERFORM billing_usage_month_add(
            OLD.id, OLD.livemode, OLD.customer_id, OLD.finalized_at, -1);
    END IF;
    IF is_now AND NOT (was AND same_place) THEN
        PERFORM billing_usage_month_add(
            NEW.id, NEW.livemode, NEW.customer_id, NEW.finalized_at, 1);
    END IF;
    IF TG_OP <> 'INSERT' THEN
        IF was THEN
            PERFORM billing_revenue_month_add(
                OLD.livemode, 'invoiced', OLD.finalized_at, OLD.currency, -OLD.total);
        END IF;
        IF OLD.status = 'paid' THEN
            PERFORM billing_revenue_month_add(
                OLD.livemode, 'collected', OLD.paid_at, OLD.currency,
                -OLD.amount_paid);
        END IF;
        IF OLD.status = 'open' THEN
            PERFORM billing_revenue_month_add(
                OLD.livemode, 'open', OLD.finalized_at, OLD.currency,
                -OLD.amount_remaining);
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF is_now THEN
            PERFORM billing_revenue_month_add(
                NEW.livemode, 'invoiced', NEW.finalized_at, NEW.currency, NEW.total);
        END IF;
        IF NEW.status = 'paid' THEN
            PERFORM billing_revenue_month_add(
                NEW.livemode, 'collected', NEW.paid_at, NEW.currency,
                NEW.amount_paid);
        END IF;
        IF NEW.status = 'open' THEN
            PERFORM billing_revenue_month_add(
                NEW.livemode, 'open', NEW.finalized_at, NEW.currency,
                NEW.amount_remaining);
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- A test clock's finalized invoice is deleted lines first (the ORM's cascade):
-- its usage leaves with its lines, and the invoice then has none left to take.
CREATE OR REPLACE FUNCTION billing_usage_month_lines_gone() RETURNS trigger AS $$
DECLARE
    p_shard int;
BEGIN
    p_shard := coalesce(
        (SELECT k FROM generate_series(0, {SHARDS - 1}) AS k
         WHERE pg_try_advisory_xact_lock({SHARD_LOCKS}, k) LIMIT 1),
        floor(random() * {SHARDS})::int);
    INSERT INTO billing_usagerevenuemonth
        (livemode, month, dimension, key, currency, shard, amount)
    SELECT invoice.livemode,
           date_trunc('month', invoice.finalized_at AT TIME ZONE 'UTC')::date,
           dimension.name, dimension.key, gone.currency,
           CASE WHEN dimension.name = 'product' THEN p_shard ELSE 0 END,
           -sum(gone.amount)
    FROM gone
    JOIN billing_invoice AS invoice ON invoice.id = gone.invoice_id
    LEFT JOIN catalog_price AS price ON price.id = gone.price_id
    CROSS JOIN LATERAL (VALUES ('product', coalesce(price.product_id, '')),
                               ('customer', invoice.customer_id))
        AS dimension (name, key)
    WHERE gone.kind IN ('metered', 'late_usage')
      AND invoice.status IN ('open', 'paid', 'uncollectible')
      AND invoice.finalized_at IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (month, dimension, key, currency, livemode, shard)
    DO UPDATE SET amount = billing_usagerevenuemonth.amount + EXCLUDED.amount;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION billing_revenue_month_truncate() RETURNS trigger AS $$
BEGIN
    DELETE FROM billing_revenuemonth;
    DELETE FROM billing_usagerevenuemonth;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_usage_month_lines_gone AFTER DELETE ON billing_invoicelineitem
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION billing_usage_month_lines_gone();
CREATE TRIGGER billing_revenue_month_truncate AFTER TRUNCATE ON billing_invoice
    FOR EACH STATEMENT EXECUTE FUNCTION billing_revenue_month_truncate();
CREATE TRIGGER billing_revenue_month_insert AFTER INSERT ON billing_invoice
    FOR EACH ROW WHEN (NEW.status <> 'draft' AND NEW.status <> 'void')
    EXECUTE FUNCTION billing_revenue_month_track();
CREATE TRIGGER billing_revenue_month_update AFTER UPDATE ON billing_invoice
    FOR EACH ROW WHEN (
        (OLD.status, OLD.total, OLD.amount_paid, OLD.amount_remaining,
         OLD.finalized_at, OLD.paid_at, OLD.currency, OLD.livemode, OLD.customer_id)
        IS DISTINCT FROM
        (NEW.status, NEW.total, NEW.amount_paid, NEW.amount_remaining,
         NEW.finalized_at, NEW.paid_at, NEW.currency, NEW.livemode, NEW.customer_id)
        AND NOT (OLD.status IN ('draft', 'void') AND NEW.status IN ('draft', 'void'))
    )
    EXECUTE FUNCTION billing_revenue_month_track();
CREATE TRIGGER billing_revenue_month_delete AFTER DELETE ON billing_invoice
    FOR EACH ROW WHEN (OLD.status <> 'draft' AND OLD.status <> 'void')
    EXECUTE FUNCTION billing_revenue_month_track();

LOCK TABLE billing_invoice IN SHARE MODE;
"""

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS billing_revenue_month_insert ON billing_invoice;
DROP TRIGGER IF EXISTS billing_revenue_month_update ON billing_invoice;
DROP TRIGGER IF EXISTS billing_revenue_month_delete ON billing_invoice;
DROP TRIGGER IF EXISTS billing_usage_month_lines_gone ON billing_invoicelineitem;
DROP TRIGGER IF EXISTS billing_revenue_month_truncate ON billing_invoice;
DROP FUNCTION IF EXISTS billing_usage_month_lines_gone();
DROP FUNCTION IF EXISTS billing_revenue_month_truncate();
DROP FUNCTION IF EXISTS billing_revenue_month_track();
DROP FUNCTION IF EXISTS billing_usage_month_add(text, boolean, text, timestamptz, int);
DROP FUNCTION IF EXISTS billing_revenue_month_add(boolean, text, timestamptz, text, bigint);
"""


def _install(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    from billing.revenue import _REBUILD, _REBUILD_USAGE

    schema_editor.execute(POSTGRES, params=None)
    schema_editor.execute(_REBUILD, params=None)
    schema_editor.execute(_REBUILD_USAGE, params=None)


def _remove(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0019_invoice_number_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="RevenueMonth",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("livemode", models.BooleanField(default=False)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("invoiced", "Invoiced"),
                            ("collected", "Collected"),
                            ("open", "Open"),
                        ],
                        max_length=16,
                    ),
                ),
                ("month", models.DateField()),
                ("currency", models.CharField(max_length=3)),
                ("shard", models.PositiveSmallIntegerField(default=0)),
                ("amount", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("month", "kind", "currency", "livemode", "shard"),
                        name="billing_revenue_month_once",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="UsageRevenueMonth",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("livemode", models.BooleanField(default=False)),
                ("month", models.DateField()),
                (
                    "dimension",
                    models.CharField(
                        choices=[("product", "Product"), ("customer", "Customer")],
                        max_length=16,
                    ),
                ),
                ("key", models.CharField(max_length=64)),
                ("currency", models.CharField(max_length=3)),
                ("shard", models.PositiveSmallIntegerField(default=0)),
                ("amount", models.BigIntegerField(default=0)),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["month", "dimension", "livemode", "-amount", "key"],
                        name="billing_usage_month_top",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=(
                            "month",
                            "dimension",
                            "key",
                            "currency",
                            "livemode",
                            "shard",
                        ),
                        name="billing_usage_month_once",
                    )
                ],
            },
        ),
        migrations.RunPython(_install, _remove),
    ]
