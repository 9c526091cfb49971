"""Revenue invoiced and collected per month, usage revenue per product and the
top customers by usage: the dashboard home's billing figures.

On PostgreSQL they are read from ``RevenueMonth`` and ``UsageRevenueMonth`` rows,
which triggers on ``billing_invoice`` keep (migration ``0020_revenue_months``; one
call per statement since ``0022_revenue_statement_triggers``, so finalize's chunk
of invoices, written in one ``UPDATE``, costs one upsert, not one per invoice):
reading a year of a million invoices (or a month of their usage lines) took
seconds, a few dozen rows (or an index scan) take a millisecond. Elsewhere
(SQLite, ``make run``) the invoices are summed; both answer the same figures,
which the tests hold on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.functions import TruncMonth

from billing.models import Invoice, InvoiceLineItem, RevenueMonth, UsageRevenueMonth
from catalog.models import Product
from core.models import Customer

# Invoices that count as revenue once finalized: a void one never does.
INVOICED = ("open", "paid", "uncollectible")
USAGE_KINDS = ("metered", "late_usage")

# What each invoice adds to its months (``rebuild`` and migration 0020 agree).
_REBUILD = """
INSERT INTO billing_revenuemonth (livemode, kind, month, currency, shard, amount)
SELECT livemode, kind, month, currency, 0, sum(amount) FROM (
    SELECT livemode, 'invoiced' AS kind, currency, total AS amount,
           date_trunc('month', finalized_at AT TIME ZONE 'UTC')::date AS month
    FROM billing_invoice
    WHERE status IN ('open', 'paid', 'uncollectible') AND finalized_at IS NOT NULL
    UNION ALL
    SELECT livemode, 'collected', currency, amount_paid,
           date_trunc('month', paid_at AT TIME ZONE 'UTC')::date
    FROM billing_invoice WHERE status = 'paid' AND paid_at IS NOT NULL
    UNION ALL
    SELECT livemode, 'open', currency, amount_remaining,
           date_trunc('month', finalized_at AT TIME ZONE 'UTC')::date
    FROM billing_invoice WHERE status = 'open' AND finalized_at IS NOT NULL
) AS changes
GROUP BY livemode, kind, month, currency HAVING sum(amount) <> 0
"""
_REBUILD_USAGE = """
INSERT INTO billing_usagerevenuemonth
    (livemode, month, dimension, key, currency, shard, amount)
SELECT invoice.livemode, date_trunc('month', invoice.finalized_at AT TIME ZONE 'UTC'),
       dimension.name, dimension.key, line.currency, 0, sum(line.amount)
FROM billing_invoicelineitem AS line
JOIN billing_invoice AS invoice ON invoice.id = line.invoice_id
LEFT JOIN catalog_price AS price ON price.id = line.price_id
CROSS JOIN LATERAL (VALUES ('product', coalesce(price.product_id, '')),
                           ('customer', invoice.customer_id)) AS dimension (name, key)
WHERE line.kind IN ('metered', 'late_usage') AND invoice.finalized_at IS NOT NULL
  AND invoice.status IN ('open', 'paid', 'uncollectible')
GROUP BY 1, 2, 3, 4, 5
"""


@dataclass(frozen=True)
class MonthRevenue:
    """One calendar month (UTC) of one currency, minor units."""

    month: datetime  # the month's first instant
    currency: str
    invoiced: int  # totals of invoices finalized in the month, void excluded
    collected: int  # amount paid on invoices paid in the month


def _kept(since: datetime) -> dict[tuple[datetime, str], list[int]]:
    rows = (
        RevenueMonth.objects.filter(month__gte=since.date())
        .exclude(kind=RevenueMonth.Kind.OPEN)
        .values("month", "currency", "kind")
        .annotate(amount=Sum("amount"))
    )
    months: dict[tuple[datetime, str], list[int]] = {}
    for row in rows:
        month: date = row["month"]
        key = (datetime(month.year, month.month, 1, tzinfo=UTC), row["currency"])
        position = 0 if row["kind"] == RevenueMonth.Kind.INVOICED else 1
        months.setdefault(key, [0, 0])[position] = row["amount"] or 0
    return {key: amounts for key, amounts in months.items() if any(amounts)}


def _summed(since: datetime) -> dict[tuple[datetime, str], list[int]]:
    invoiced = (
        Invoice.objects.filter(finalized_at__gte=since, status__in=INVOICED)
        .annotate(month=TruncMonth("finalized_at", tzinfo=UTC))
        .values("month", "currency")
        .annotate(amount=Sum("total"))
    )
    collected = (
        Invoice.objects.filter(paid_at__gte=since, status="paid")
        .annotate(month=TruncMonth("paid_at", tzinfo=UTC))
        .values("month", "currency")
        .annotate(amount=Sum("amount_paid"))
    )
    months: dict[tuple[datetime, str], list[int]] = {}
    for position, rows in enumerate((invoiced, collected)):
        for row in rows:
            key = (row["month"], row["currency"])
            months.setdefault(key, [0, 0])[position] = row["amount"] or 0
    return months


def revenue_by_month(*, since: datetime) -> list[MonthRevenue]:
    """Invoiced and collected per month and currency from ``since`` (a month start)."""
    kept = connection.vendor == "postgresql"
    months = _kept(since) if kept else _summed(since)
    return [
        MonthRevenue(month, currency, amounts[0], amounts[1])
        for (month, currency), amounts in sorted(months.items())
    ]


def open_amounts() -> dict[str, int]:
    """Amounts remaining on open invoices, per currency (minor units)."""
    if connection.vendor != "postgresql":
        from billing.selectors import customer_open_total

        return customer_open_total()
    rows = (
        RevenueMonth.objects.filter(kind=RevenueMonth.Kind.OPEN)
        .values("currency")
        .annotate(amount=Sum("amount"))
        .exclude(amount=0)
        .order_by("currency")
    )
    return {row["currency"]: row["amount"] for row in rows}


def invoiced_in_month(*, month: datetime) -> dict[str, int]:
    """Totals of invoices finalized in ``month`` (its first instant), per currency."""
    return {
        row.currency: row.invoiced
        for row in revenue_by_month(since=month)
        if row.month == month and row.invoiced
    }


def revenue_months_rebuild() -> None:
    """Recount every month from the invoices (PostgreSQL), for rows loaded with
    the triggers set aside (``session_replication_role = replica``)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE billing_invoice IN SHARE MODE")
        cursor.execute("DELETE FROM billing_revenuemonth")
        cursor.execute("DELETE FROM billing_usagerevenuemonth")
        cursor.execute(_REBUILD)
        cursor.execute(_REBUILD_USAGE)


@dataclass(frozen=True)
class UsageRevenue:
    """Usage billed to one product (or customer) in one currency, minor units."""

    key: str  # the product's or customer's id
    name: str
    currency: str
    amount: int


def _one_month(start: datetime, end: datetime) -> date | None:
    """``start``'s month when ``[start, end)`` is exactly one UTC month."""
    start = start.astimezone(UTC)
    first = datetime(start.year, start.month, 1, tzinfo=UTC)
    index = start.year * 12 + start.month
    following = datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
    return first.date() if (start, end) == (first, following) else None


def _usage_lines(*, start: datetime, end: datetime):
    return InvoiceLineItem.objects.filter(
        kind__in=USAGE_KINDS,
        invoice__finalized_at__gte=start,
        invoice__finalized_at__lt=end,
        invoice__status__in=INVOICED,
    )


def _kept_usage(month: date, dimension: str):
    return UsageRevenueMonth.objects.filter(month=month, dimension=dimension)


def usage_revenue_by_product(*, start: datetime, end: datetime) -> list[UsageRevenue]:
    """Metered usage invoiced in ``[start, end)`` per product, largest first."""
    month = _one_month(start, end)
    if connection.vendor == "postgresql" and month is not None:
        rows = [
            (row["key"] or None, row["currency"], row["amount"])
            for row in _kept_usage(month, UsageRevenueMonth.Dimension.PRODUCT)
            .values("key", "currency")
            .annotate(amount=Sum("amount"))
            .exclude(amount=0)
        ]
    else:
        rows = list(
            _usage_lines(start=start, end=end)
            .values_list("price__product_id", "currency")
            .annotate(amount=Sum("amount"))
        )
    names = Product.objects.in_bulk({key for key, _, _ in rows if key})
    rows.sort(key=lambda row: (-row[2], row[0] or ""))
    return [
        UsageRevenue(key, names[key].name if key in names else None, currency, amount)
        for key, currency, amount in rows
    ]


def top_customers_by_usage(
    *, start: datetime, end: datetime, limit: int
) -> list[UsageRevenue]:
    """The ``limit`` customers with the most usage invoiced in ``[start, end)``."""
    month = _one_month(start, end)
    if connection.vendor == "postgresql" and month is not None:
        # One row per customer and currency (shard 0): the index's order.
        rows = list(
            _kept_usage(month, UsageRevenueMonth.Dimension.CUSTOMER)
            .exclude(amount=0)
            .order_by("-amount", "key")
            .values_list("key", "currency", "amount")[:limit]
        )
    else:
        rows = list(
            _usage_lines(start=start, end=end)
            .values_list("invoice__customer_id", "currency")
            .annotate(amount=Sum("amount"))
            .order_by("-amount", "invoice__customer_id")[:limit]
        )
    names = Customer.objects.in_bulk({key for key, _, _ in rows})
    return [
        UsageRevenue(key, (names[key].name if key in names else "") or key, cur, amount)
        for key, cur, amount in rows
    ]
