"""The billing figures of the dashboard home: revenue per month, MRR, usage
revenue per product, top customers, invoices waiting; each links to its list."""

from __future__ import annotations

from datetime import UTC, datetime

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

from billing import revenue, selectors
from core import charts, clock
from core.money import format_minor

MONTHS = 12
TOP_CUSTOMERS = 10
CACHE_SECONDS = 60


def month_start(moment: datetime, *, back: int = 0) -> datetime:
    """The first instant (UTC) of ``moment``'s month, ``back`` months earlier."""
    index = moment.year * 12 + moment.month - 1 - back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def _invoices(**params) -> str:
    return f"{reverse('admin:billing_invoice_changelist')}?{urlencode(params)}"


def _range(field: str, start: datetime, end: datetime) -> dict[str, str]:
    return {
        f"{field}__gte": start.date().isoformat(),
        f"{field}__lt": end.date().isoformat(),
    }


def invoiced_url(start: datetime, end: datetime) -> str:
    """The invoices behind "invoiced" of ``[start, end)``: finalized, not void."""
    return _invoices(
        status__in="open,paid,uncollectible", **_range("finalized_at", start, end)
    )


def collected_url(start: datetime, end: datetime) -> str:
    return _invoices(status__exact="paid", **_range("paid_at", start, end))


def _month_rows(now: datetime) -> list[dict]:
    """One row per month and currency, oldest first, with the figures' links."""
    first = month_start(now, back=MONTHS - 1)
    rows = []
    for month in revenue.revenue_by_month(since=first):
        end = month_start(month.month, back=-1)
        rows.append(
            {
                "month": month.month,
                "currency": month.currency,
                "invoiced": month.invoiced,
                "collected": month.collected,
                "invoiced_text": format_minor(month.invoiced, month.currency),
                "collected_text": format_minor(month.collected, month.currency),
                "invoiced_url": invoiced_url(month.month, end),
                "collected_url": collected_url(month.month, end),
            }
        )
    return rows


def _revenue_chart(rows: list[dict], now: datetime) -> tuple[str, SafeString]:
    """The chart of the currency with the most invoiced: every month, even empty."""
    if not rows:
        return "", mark_safe("")
    totals: dict[str, int] = {}
    for row in rows:
        totals[row["currency"]] = totals.get(row["currency"], 0) + row["invoiced"]
    currency = max(sorted(totals), key=lambda code: totals[code])
    by_month = {row["month"]: row for row in rows if row["currency"] == currency}
    groups = []
    for back in range(MONTHS - 1, -1, -1):
        start = month_start(now, back=back)
        end = month_start(start, back=-1)
        row = by_month.get(start, {})
        label = start.strftime("%b %Y")
        invoiced, collected = row.get("invoiced", 0), row.get("collected", 0)
        groups.append(
            charts.ColumnGroup(
                label=start.strftime("%b"),
                columns=(
                    charts.Column(
                        invoiced,
                        f"{label} invoiced: {format_minor(invoiced, currency)}",
                        invoiced_url(start, end),
                    ),
                    charts.Column(
                        collected,
                        f"{label} collected: {format_minor(collected, currency)}",
                        collected_url(start, end),
                    ),
                ),
            )
        )
    label = f"Invoiced and collected per month, {currency.upper()}"
    return currency, charts.column_chart(
        groups, series=("invoiced", "collected"), label=label
    )


def revenue_section(request) -> SafeString:
    """Revenue invoiced and collected per month, with its chart."""
    now = clock.now()
    rows = _month_rows(now)
    currency, chart = _revenue_chart(rows, now)
    return mark_safe(
        render_to_string(
            "billing/home_revenue.html",
            {
                "rows": list(reversed(rows)),
                "chart": chart,
                "chart_currency": currency.upper(),
                "months": MONTHS,
            },
            request=request,
        )
    )


def _money_list(amounts: dict[str, int]) -> str:
    if not amounts:
        return format_minor(0, "usd")
    return " · ".join(format_minor(amount, code) for code, amount in amounts.items())


def _usage_rows(figures: list, url_of) -> SafeString:
    return charts.bar_rows(
        [
            (
                figure.name,
                url_of(figure),
                format_minor(figure.amount, figure.currency),
                figure.amount,
            )
            for figure in figures
        ]
    )


def usage_section(request) -> SafeString:
    """MRR, usage revenue per product and the top customers, this month."""
    now = clock.now()
    start, end = month_start(now), month_start(now, back=-1)
    month = _range("finalized_at", start, end)
    products = revenue.usage_revenue_by_product(start=start, end=end)
    customers = revenue.top_customers_by_usage(
        start=start, end=end, limit=TOP_CUSTOMERS
    )
    subscriptions = reverse("admin:billing_subscription_changelist")
    return mark_safe(
        render_to_string(
            "billing/home_usage.html",
            {
                "month": start,
                "mrr": _money_list(selectors.licensed_mrr()),
                "mrr_url": f"{subscriptions}?status__exact=active",
                "products": _usage_rows(
                    products,
                    lambda figure: _invoices(
                        product=figure.key,
                        status__in="open,paid,uncollectible",
                        **month,
                    ),
                ),
                "customers": _usage_rows(
                    customers,
                    lambda figure: _invoices(
                        customer=figure.key,
                        status__in="open,paid,uncollectible",
                        **month,
                    ),
                ),
            },
            request=request,
        )
    )


def waiting_section(request) -> SafeString:
    """Invoices past due and drafts waiting to be finalized."""
    waiting = selectors.invoices_waiting(now=clock.now())
    return mark_safe(
        render_to_string(
            "billing/home_waiting.html",
            {
                "waiting": waiting,
                "past_due_amount": _money_list(waiting.past_due_amounts),
                "past_due_url": _invoices(past_due="1"),
                "drafts_url": _invoices(status__exact="draft"),
            },
            request=request,
        )
    )
