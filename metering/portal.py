"""Usage on the customer's pages: a chart per meter, and a page per meter with a
choice of range (a day by hour; a week, 30 or 90 days by day).

Buckets are UTC hours/days ending at the customer's "now" (their test clock, if any).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.http import Http404
from django.template.loader import render_to_string
from django.urls import path
from django.views.decorators.http import require_safe

from core.portal import CustomerPage, PortalSection, customer_page
from metering import charts, selectors
from metering.models import Meter
from metering.selectors.days import additive
from metering.usage import floor_day, floor_hour


@dataclass(frozen=True)
class Range:
    key: str
    label: str
    span: timedelta
    window: str  # "hour" | "day"


RANGES = {
    r.key: r
    for r in (
        Range("24h", "Last 24 hours", timedelta(hours=24), "hour"),
        Range("7d", "Last 7 days", timedelta(days=7), "day"),
        Range("30d", "Last 30 days", timedelta(days=30), "day"),
        Range("90d", "Last 90 days", timedelta(days=90), "day"),
    )
}
OVERVIEW_RANGE = RANGES["30d"]


def _bounds(usage_range: Range, now: datetime) -> tuple[datetime, datetime]:
    """Aligned [start, end): whole buckets, the last one holding ``now``."""
    if usage_range.window == "hour":
        end = floor_hour(now) + timedelta(hours=1)
    else:
        end = floor_day(now) + timedelta(days=1)
    return end - usage_range.span, end


def _meter_usage(
    meter: Meter, page: CustomerPage, usage_range: Range, series=None
) -> dict:
    """One meter's chart; ``series`` when already read (``usage_section``)."""
    start, end = _bounds(usage_range, page.now)
    if series is None:
        series = selectors.meter_usage_series(
            meter=meter,
            customer_id=page.customer.pk,
            start=start,
            end=end,
            grouping_window=usage_range.window,
        )
    # The whole buckets charted, so the total is the chart's and counts an event
    # stamped at the customer's now (a test-clock customer's usage sent "now").
    # A sum or count meter's total is its buckets' sum: no second read.
    if additive(meter):
        total = sum((value for _, value in series), Decimal(0))
    else:
        total = selectors.meter_usage_for_period(
            meter=meter, customer_id=page.customer.pk, start=start, end=end
        )
    return {
        "meter": meter,
        "start": start,
        "end": end,
        "total": total,
        "series": series,
        "chart": charts.bar_chart(series, hourly=usage_range.window == "hour"),
        "granularity": usage_range.window,
    }


def _used(row: dict) -> bool:
    return any(value != Decimal(0) for _, value in row["series"])


def usage_section(page: CustomerPage) -> str:
    meters = list(
        Meter.objects.filter(status=Meter.Status.ACTIVE).order_by("display_name", "id")
    )
    start, end = _bounds(OVERVIEW_RANGE, page.now)
    # Every meter's 30 days in one read, not two queries a meter.
    series = selectors.customer_usage_series(
        meters=meters,
        customer_id=page.customer.pk,
        start=start,
        end=end,
        grouping_window=OVERVIEW_RANGE.window,
    )
    rows = [
        _meter_usage(meter, page, OVERVIEW_RANGE, series[meter.pk]) for meter in meters
    ]
    return render_to_string(
        "metering/portal/_usage.html",
        {"rows": [row for row in rows if _used(row)], "page": page},
    )


def _by_dimension(meter: Meter, page: CustomerPage, start, end, key) -> dict | None:
    """The customer's usage over ``[start, end)`` per value of one dimension; its
    rows add up to the total for sum and count meters."""
    if not meter.dimension_keys:
        return None
    if key not in meter.dimension_keys:
        key = meter.dimension_keys[0]
    rows = selectors.grouped_usage(
        meter=meter,
        customer_id=page.customer.pk,
        start=start,
        end=end,
        grouping_window=None,
        group_by=[key],
        segment=None,
    )
    return {
        "key": key,
        "keys": meter.dimension_keys,
        "rows": [
            (dimensions[key] or "(none)", value) for *_, dimensions, value in rows
        ],
    }


@require_safe
@customer_page
def usage_page(request, page: CustomerPage, meter_id: str):
    meter = Meter.objects.filter(pk=meter_id).first()
    if meter is None:
        raise Http404("No such meter.")
    usage_range = RANGES.get(request.GET.get("range", ""), OVERVIEW_RANGE)
    row = _meter_usage(meter, page, usage_range)
    return page.render(
        "metering/portal/usage_page.html",
        {
            **row,
            "ranges": RANGES.values(),
            "current": usage_range,
            "buckets": list(reversed(row["series"])),
            "by_dimension": _by_dimension(
                meter, page, row["start"], row["end"], request.GET.get("group_by")
            ),
            "nav": "overview",
        },
    )


SECTIONS = [
    PortalSection(name="usage", title="Usage", render=usage_section, order=20),
]

urlpatterns = [path("usage/<str:meter_id>/", usage_page, name="usage")]
