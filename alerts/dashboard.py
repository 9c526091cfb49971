"""The alerts app's pieces of the dashboard home and the customer page."""

from __future__ import annotations

from core import dashboard


def _fired_today(request) -> str:
    from alerts.selectors import alerts_home_figure
    from core import clock

    midnight = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    return alerts_home_figure(since=midnight)


def register() -> None:
    from alerts import access_pages, views
    from alerts.services.thresholds import threshold_amount_so_far
    from billing import dashboard as billing_dashboard

    billing_dashboard.register_threshold_progress(threshold_amount_so_far)

    dashboard.register_customer_panel(
        dashboard.CustomerPanel(
            name="access",
            title="Access and usage limits",
            render=access_pages.customer_access_panel,
            order=35,
        )
    )
    dashboard.register_customer_panel(
        dashboard.CustomerPanel(
            name="alerts",
            title="Alerts and thresholds",
            render=views.customer_panel,
            order=40,
        )
    )
    dashboard.register_home_card(
        dashboard.HomeCard(
            name="usage_alerts",
            label="Usage alerts",
            value=_fired_today,
            url="/admin/alerts/alert/?status__exact=active",
            order=40,
        )
    )
    dashboard.register_quick_link(
        dashboard.QuickLink("Create alert", "admin:alerts_alert_add", order=40)
    )
