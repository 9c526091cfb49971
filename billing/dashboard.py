"""The billing app's pieces of the dashboard home and customer page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

from core import dashboard
from core.money import format_minor

PANEL_ROWS = 10


def _money_by_currency(totals: dict[str, int]) -> str:
    if not totals:
        return format_minor(0, "usd")
    return " · ".join(
        format_minor(amount or 0, currency)
        for currency, amount in sorted(totals.items())
    )


def open_invoices_total(request) -> str:
    from billing.revenue import open_amounts

    return _money_by_currency(open_amounts())


def invoiced_this_month(request) -> str:
    from billing.home import month_start
    from billing.revenue import invoiced_in_month
    from core import clock

    return _money_by_currency(invoiced_in_month(month=month_start(clock.now())))


def _invoiced_this_month_url(request) -> str:
    from billing.home import invoiced_url, month_start
    from core import clock

    now = clock.now()
    return invoiced_url(month_start(now), month_start(now, back=-1))


def active_subscriptions(request) -> str:
    from billing.models import Subscription

    count = Subscription.objects.filter(
        status__in=("active", "trialing", "past_due")
    ).count()
    return f"{count:,}"


def customer_panel(customer, request) -> SafeString:
    from billing.models import Invoice, Subscription

    subscriptions = (
        Subscription.objects.filter(customer=customer)
        .prefetch_related("items__price__product")
        .order_by("-created", "-id")[:PANEL_ROWS]
    )
    invoices = Invoice.objects.filter(customer=customer).order_by("-created", "-id")[
        :PANEL_ROWS
    ]
    query = urlencode({"customer": customer.pk})
    return mark_safe(
        render_to_string(
            "billing/customer_panel.html",
            {
                "customer": customer,
                "subscriptions": subscriptions,
                "invoices": invoices,
                "create_subscription_url": (
                    f"{reverse('admin:billing_subscription_add')}?{query}"
                ),
                "create_invoice_url": f"{reverse('admin:billing_invoice_add')}?{query}",
                "all_invoices_url": (
                    f"{reverse('admin:billing_invoice_changelist')}?"
                    + urlencode({"customer__id__exact": customer.pk})
                ),
            },
            request=request,
        )
    )


# The alerts app evaluates billing thresholds; it tells the subscription page how
# far the period has come: ``progress(subscription=, now=)`` in minor units.
_threshold_progress: list[Callable[..., int]] = []


def register_threshold_progress(progress: Callable[..., int]) -> None:
    _threshold_progress[:] = [progress]


def threshold_progress(*, subscription, now: datetime) -> int | None:
    """The amount compared with the billing threshold now (None if unknown)."""
    if subscription.threshold_amount_gte is None or not _threshold_progress:
        return None
    return _threshold_progress[0](subscription=subscription, now=now)


def next_period_end(test_clock) -> list[tuple[str, datetime]]:
    """ "To the period end": the next period end of a subscription on the clock."""
    from billing.models import Subscription

    end = (
        Subscription.objects.filter(
            customer__test_clock=test_clock,
            current_period_end__gt=test_clock.frozen_time,
        )
        .exclude(status__in=["canceled", "incomplete_expired"])
        .order_by("current_period_end")
        .values_list("current_period_end", flat=True)
        .first()
    )
    return [("To the period end", end)] if end else []


def register() -> None:
    from billing import home

    dashboard.register_clock_shortcut(next_period_end)
    # Waiting invoices are read live (an index range); the month aggregates
    # read every invoice of a year, so they are kept a minute.
    for name, render, order, cache_seconds in (
        ("billing_waiting", home.waiting_section, 10, 0),
        ("billing_revenue", home.revenue_section, 20, home.CACHE_SECONDS),
        ("billing_usage", home.usage_section, 30, home.CACHE_SECONDS),
    ):
        dashboard.register_home_section(
            dashboard.HomeSection(
                name=name, render=render, order=order, cache_seconds=cache_seconds
            )
        )
    from billing.admin_coupons import register_customer_panel

    register_customer_panel()
    from billing.commitment_pages import customer_panel as commitments_panel

    dashboard.register_customer_panel(
        dashboard.CustomerPanel(
            name="commitments",
            title="Commitments",
            render=commitments_panel,
            order=12,
        )
    )
    dashboard.register_customer_panel(
        dashboard.CustomerPanel(
            name="billing",
            title="Subscriptions and invoices",
            render=customer_panel,
            order=10,
        )
    )
    dashboard.register_home_card(
        dashboard.HomeCard(
            name="open_invoices",
            label="Open invoices",
            value=open_invoices_total,
            url="/admin/billing/invoice/?status__exact=open",
            order=30,
        )
    )
    dashboard.register_home_card(
        dashboard.HomeCard(
            name="invoiced_this_month",
            label="Invoiced this month",
            value=invoiced_this_month,
            url=_invoiced_this_month_url,
            order=31,
        )
    )
    dashboard.register_home_card(
        dashboard.HomeCard(
            name="active_subscriptions",
            label="Active subscriptions",
            value=active_subscriptions,
            url="/admin/billing/subscription/?status__in=active,trialing,past_due",
            order=32,
            # A count over every subscription: kept a minute, as the month figures.
            cache_seconds=home.CACHE_SECONDS,
        )
    )
    dashboard.register_quick_link(
        dashboard.QuickLink(
            "Create subscription", "admin:billing_subscription_add", order=30
        )
    )
    dashboard.register_quick_link(
        dashboard.QuickLink("Create invoice", "admin:billing_invoice_add", order=31)
    )
