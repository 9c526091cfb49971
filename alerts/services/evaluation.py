"""Evaluating usage alerts, and firing an alert once per customer.

Usage arriving (``alerts.services.realtime``, within a moment of each commit), the
Beat job (real-time customers, every minute, the safety net) and test-clock
advances (the clock's customers, at the clock's time) run these.

- In real time, alerts on sum and count meters fire from the progress that
  ``alerts.services.progress`` counts incrementally: each run reads only the events
  received since the last one, in one grouped query.
- Alerts on ``last``, ``max``, ``unique_count`` and ``event_time_window`` meters,
  and every alert on a test clock, are evaluated by reading the usage reported
  since each alert's creation: one grouped query per meter
  (``meter_usage_received_after``), not per customer.
- Alerts on ``time_weighted_sum`` meters compare the value-hours accrued since the
  alert's creation (the gauge's value then holds from that moment), read to
  ``now``: they can cross with no new event, so the Beat run finds them.

A filtered alert that has fired is done (``one_time``) and is no longer read.

Firing (``alert_trigger``) inserts the ``AlertTrigger`` row whose (alert, customer)
key is unique, records ``billing.alert.triggered`` (webhooks fan out from the
event) and queues the emails, all in one transaction: a rerun, or a second worker
racing the first, fires nothing more.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import groupby

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from alerts.models import Alert, AlertTrigger
from alerts.services.credit_alerts import credit_balance_alerts_evaluate
from alerts.services.firing import alerts_fire
from alerts.services.progress import ADDITIVE, alert_usage_count, progress_crossed
from core.models import Customer, TestClock
from metering.models import Meter
from metering.selectors import (
    meter_usage_by_customer,
    meter_usage_for_customers,
    meter_usage_received_after,
)
from metering.storage.watermark import events_settled_through

logger = logging.getLogger(__name__)

# How much earlier than an alert's creation a counted event's ``created`` may be
# (it is read when the request starts); only narrows the read, never decides.
RECEIPT_SLACK = timedelta(hours=1)


def active_alerts(
    *, test_clock: TestClock | None, additive: bool | None = None
) -> list[Alert]:
    """Active usage alerts that can fire for real-time customers, or the clock's.

    Ordered by meter, then id. Filtered alerts that already fired are left out;
    ``additive`` picks alerts on sum and count meters (True) or the others (False).
    """
    fired = AlertTrigger.objects.filter(
        alert=OuterRef("pk"), customer=OuterRef("customer")
    )
    rows = (
        Alert.objects.filter(
            status=Alert.Status.ACTIVE, alert_type=Alert.AlertType.USAGE_THRESHOLD
        )
        .exclude(
            Q(customer__isnull=False) & (Exists(fired) | Q(customer__deleted=True))
        )
        .filter(Q(customer__isnull=True) | Q(test_clock=test_clock))
        .select_related("meter")
    )
    if additive is not None:
        rows = rows.filter(ADDITIVE) if additive else rows.exclude(ADDITIVE)
    return list(rows.order_by("meter_id", "pk"))


def _customers(
    alerts: list[Alert],
    test_clock: TestClock | None,
    among: Collection[str] | None = None,
):
    """Who the alerts of one meter may fire for: ids, or a queryset of ids.

    ``among`` narrows them to these customers (those whose usage just changed).
    """
    if all(alert.customer_id for alert in alerts):
        ids = {alert.customer_id for alert in alerts}
        return sorted(ids if among is None else ids.intersection(among))
    everyone: QuerySet = Customer.objects.filter(deleted=False, test_clock=test_clock)
    if among is not None:
        everyone = everyone.filter(pk__in=list(among))
    return everyone.values("pk")


def _received_from(alerts: list[Alert], test_clock: TestClock | None):
    """A lower bound of the counted events' ``created``, if the times compare.

    Alerts without a filter live in real time; the clock's customers do not.
    """
    if test_clock is not None and any(alert.test_clock_id is None for alert in alerts):
        return None
    return min(alert.created for alert in alerts) - RECEIPT_SLACK


def crossings(
    *,
    alerts: list[Alert],
    now: datetime,
    test_clock: TestClock | None,
    among: Collection[str] | None = None,
) -> list[tuple[Alert, str, Decimal]]:
    """(alert, customer id, usage) of every threshold reached, for one meter."""
    if alerts[0].meter.formula == Meter.Formula.TIME_WEIGHTED_SUM:
        return _accrued_crossings(alerts, now, _customers(alerts, test_clock, among))
    usage = meter_usage_received_after(
        meter=alerts[0].meter,
        after_event_ids=[alert.after_event_id for alert in alerts],
        customers=_customers(alerts, test_clock, among),
        received_from=_received_from(alerts, test_clock),
        received_until=now,
    )
    found = []
    for alert in alerts:
        if alert.customer_id is not None:
            candidates = [(alert.customer_id, usage.get(alert.customer_id))]
        else:
            candidates = sorted(usage.items())
        for customer_id, by_bound in candidates:
            value = by_bound[alert.after_event_id] if by_bound else None
            if value is not None and value >= alert.gte:
                found.append((alert, customer_id, value))
    return found


def _accrued_crossings(
    alerts: list[Alert], now: datetime, customers
) -> list[tuple[Alert, str, Decimal]]:
    """Thresholds of value-hours accrued from each alert's creation to ``now``."""
    meter, found = alerts[0].meter, []
    ids = customers if isinstance(customers, list) else None
    for alert in alerts:
        if now <= alert.created:
            continue
        if ids is not None:
            usage = meter_usage_for_customers(
                meter=meter, customer_ids=ids, start=alert.created, end=now
            )
        else:
            usage = meter_usage_by_customer(meter=meter, start=alert.created, end=now)
            kept = set(
                customers.filter(pk__in=list(usage)).values_list("pk", flat=True)
            )
            usage = {pk: value for pk, value in usage.items() if pk in kept}
        for customer_id, value in sorted(usage.items()):
            if alert.customer_id not in (None, customer_id):
                continue
            if value >= alert.gte:
                found.append((alert, customer_id, value))
    return found


def _not_fired(found: list[tuple[Alert, str, Decimal]]):
    if not found:
        return []
    fired = set(
        AlertTrigger.objects.filter(
            alert_id__in={alert.pk for alert, _, _ in found},
            customer_id__in={customer_id for _, customer_id, _ in found},
        ).values_list("alert_id", "customer_id")
    )
    return [entry for entry in found if (entry[0].pk, entry[1]) not in fired]


def alerts_evaluate(*, now: datetime, test_clock: TestClock | None = None) -> int:
    """Fire every active alert whose threshold a customer reached; returns firings.

    Without ``test_clock``: customers in real time. Each firing is its own short
    transaction; running this twice, or on two workers at once, fires nothing twice.
    """
    if test_clock is not None:
        fired = alerts_evaluate_reading(
            alerts=active_alerts(test_clock=test_clock), now=now, test_clock=test_clock
        )
        return fired + credit_balance_alerts_evaluate(now=now, test_clock=test_clock)
    settled = events_settled_through(wait_seconds=settings.TALLY_USAGE_SETTLE_WAIT)
    if settled is not None:
        alert_usage_count(now=now, settled_through=settled)
    fired = alerts_fire_reached(now=now)
    others = active_alerts(test_clock=None, additive=False)
    fired += alerts_evaluate_reading(alerts=others, now=now, test_clock=None)
    return fired + credit_balance_alerts_evaluate(now=now)


def alerts_fire_reached(*, now: datetime) -> int:
    """Fire the alerts whose counted progress reached their threshold."""
    return alerts_fire(reached=progress_crossed(), now=now)


def alerts_evaluate_reading(
    *,
    alerts: list[Alert],
    now: datetime,
    test_clock: TestClock | None,
    among: Collection[str] | None = None,
) -> int:
    """Fire the alerts from the usage reported since each one's creation.

    ``among``: only for these customers (whose usage just changed).
    """
    fired = 0
    for _, group in groupby(alerts, key=lambda alert: alert.meter_id):
        meter_alerts = list(group)
        found = crossings(
            alerts=meter_alerts, now=now, test_clock=test_clock, among=among
        )
        reached = [
            (a.pk, customer_id, value) for a, customer_id, value in _not_fired(found)
        ]
        fired += alerts_fire(reached=reached, now=now)
    return fired
