"""The usage figures of the staff pages: the customer page's "Usage this period"
panel and the meter page's billing-period line, both read by
``billing.selectors.customer_usage_so_far`` (as the subscription page and the
upcoming invoice are), so no two pages can show different figures."""

from __future__ import annotations

from datetime import datetime

from django.contrib.admin.utils import quote
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

from billing.selectors import MeterUsage, customer_usage_so_far
from core import clock, dashboard


def _meter_url(row: MeterUsage, customer) -> str:
    url = reverse("admin:metering_meter_change", args=[quote(row.meter.pk)])
    return f"{url}?{urlencode({'customer': customer.pk})}"


def customer_panel(customer, request) -> SafeString:
    """The customer page's block: usage so far per metered item, then per meter."""
    now = clock.now_for_customer(customer)
    rows = [
        {
            "row": row,
            "meter_url": _meter_url(row, customer),
            "subscription_url": row.item
            and reverse(
                "admin:billing_subscription_change",
                args=[quote(row.item.item.subscription_id)],
            ),
        }
        for row in customer_usage_so_far(customer=customer, now=now)
    ]
    return mark_safe(
        render_to_string(
            "billing/_usage_panel.html",
            {"rows": rows, "now": now, "customer": customer},
            request=request,
        )
    )


def meter_usage(*, meter, customer, now: datetime) -> list[MeterUsage]:
    """The customer's figures of one meter, for the meter page."""
    return [
        row
        for row in customer_usage_so_far(customer=customer, now=now)
        if row.meter.pk == meter.pk
    ]


def register() -> None:
    dashboard.register_customer_panel(
        dashboard.CustomerPanel(
            name="usage",
            title="Usage this period",
            render=customer_panel,
            order=20,
        )
    )
    dashboard.register_meter_usage(meter_usage)
