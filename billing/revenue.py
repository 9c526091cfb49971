"""Revenue invoiced and collected per month: the dashboard home's first figures.

On PostgreSQL they are read from ``RevenueMonth`` rows, which a trigger on
``billing_invoice`` keeps (migration ``0020_revenue_months``): reading a year of
a million invoices took seconds, a few dozen rows take a millisecond. Elsewhere
(SQLite, ``make run``) the invoices are summed; both answer the same figures,
which the tests hold on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db import connection
from django.db.models import Sum
from django.db.models.functions import TruncMonth

from billing.models import Invoice, RevenueMonth

# Invoices that count as revenue once finalized: a void one never does.
INVOICED = ("open", "paid", "uncollectible")

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
) AS changes
GROUP BY livemode, kind, month, currency HAVING sum(amount) <> 0
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


def revenue_months_rebuild() -> None:
    """Recount every month from the invoices (PostgreSQL), for rows loaded with
    the triggers set aside (``session_replication_role = replica``)."""
    with connection.cursor() as cursor:
        cursor.execute("LOCK TABLE billing_invoice IN SHARE MODE")
        cursor.execute("DELETE FROM billing_revenuemonth")
        cursor.execute(_REBUILD)
