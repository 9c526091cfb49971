"""Reads of the alerts app: the API list, dashboard lists, panels and cards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from alerts.models import (
    ActiveEntitlement,
    Alert,
    AlertTrigger,
    ThresholdInvoice,
    UsageLimit,
    UsageLimitCrossing,
)
from core.models import Customer


def alert_list(
    *,
    alert_type: str | None = None,
    meter_id: str | None = None,
    customer_id: str | None = None,
) -> QuerySet[Alert]:
    """Alerts for the API list: archived ones are hidden, as Stripe's."""
    rows = Alert.objects.exclude(status=Alert.Status.ARCHIVED).select_related("meter")
    if alert_type is not None:
        rows = rows.filter(alert_type=alert_type)
    if meter_id is not None:
        rows = rows.filter(meter_id=meter_id)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    return rows


def alerts_with_counts() -> QuerySet[Alert]:
    """Every alert with how many customers it fired for (``triggered``)."""
    return Alert.objects.select_related("meter", "customer").annotate(
        triggered=Count("triggers")
    )


@dataclass(frozen=True)
class CustomerAlert:
    """An alert that applies to a customer, and its firing for that customer."""

    alert: Alert
    trigger: AlertTrigger | None


def customer_alerts(*, customer: Customer, limit: int) -> list[CustomerAlert]:
    """The alerts watching the customer (its own and every-customer ones), newest
    first, archived ones left out."""
    alerts = list(
        Alert.objects.filter(Q(customer=customer) | Q(customer__isnull=True))
        .exclude(status=Alert.Status.ARCHIVED)
        .select_related("meter")
        .order_by("-created", "-pk")[:limit]
    )
    fired = {
        trigger.alert_id: trigger
        for trigger in AlertTrigger.objects.filter(customer=customer, alert__in=alerts)
    }
    return [CustomerAlert(alert, fired.get(alert.pk)) for alert in alerts]


def customer_threshold_invoices(
    *, customer: Customer, limit: int
) -> list[ThresholdInvoice]:
    """The customer's billing-threshold invoices, newest first."""
    return list(
        ThresholdInvoice.objects.filter(customer=customer)
        .select_related("invoice")
        .order_by("-created", "-pk")[:limit]
    )


def alert_triggers(*, alert: Alert) -> QuerySet[AlertTrigger]:
    """The alert's firings, newest first, with their customers."""
    return alert.triggers.select_related("customer").order_by("-created", "-pk")


def alerts_home_figure(*, since: datetime) -> str:
    """The dashboard card: active alerts, and firings since ``since``."""
    active = Alert.objects.filter(status=Alert.Status.ACTIVE).count()
    fired = AlertTrigger.objects.filter(created__gte=since).count()
    return f"{active:,} active · {fired:,} fired today"


def active_entitlement_list(
    *, customer_id: str, livemode: bool
) -> QuerySet[ActiveEntitlement]:
    """The customer's active entitlements in one mode (the API list)."""
    return ActiveEntitlement.objects.filter(customer_id=customer_id, livemode=livemode)


def usage_limit_list(*, livemode: bool, filters: dict) -> QuerySet[UsageLimit]:
    """Usage limits of one mode, filtered by customer, price or status."""
    rows = UsageLimit.objects.filter(livemode=livemode).select_related("feature")
    for field in ("customer", "price"):
        if filters.get(field):
            rows = rows.filter(**{f"{field}_id": filters[field]})
    if filters.get("status"):
        rows = rows.filter(status=filters["status"])
    return rows


def customer_limit_crossings(
    *, customer: Customer, limit: int
) -> list[UsageLimitCrossing]:
    """When limits cut the customer's access, and when it came back, newest first."""
    return list(
        UsageLimitCrossing.objects.filter(customer=customer)
        .select_related("limit__feature", "limit__meter")
        .order_by("-created", "-pk")[:limit]
    )
