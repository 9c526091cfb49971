"""Acting on usage as it arrives: alerts, thresholds and limits within seconds.

Each commit of meter events sends ``metering.signals.usage_recorded``; the alerts
app answers by queuing one run of ``usage_changes_evaluate`` shortly after
(``alerts.receivers``: one queued run covers every commit before it starts). A run:

1. reads the events' watermark (``metering.storage.watermark``): every event up
   to it has committed, in whatever order the transactions ended;
2. counts the events since the last run into the alerts' progress (one grouped
   query; ``alerts.services.progress``) and fires the alerts that reached their
   threshold;
3. for the customers with new events only: evaluates the alerts that read usage
   (``last`` and windowed meters), the billing thresholds of their subscriptions,
   their usage limits (cutting or restoring features), their credit balance
   alerts (the balance after the usage not yet invoiced), and, for customers on a
   test clock, everything at the clock's time.

The Beat jobs still run every minute over everyone: the safety net for a lost
message. Every step is exactly-once by its own unique rows, so overlapping runs
and the Beat jobs fire and invoice nothing twice.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from alerts.services.clocks import clock_evaluate
from alerts.services.credit_alerts import credit_balance_alerts_evaluate
from alerts.services.evaluation import (
    active_alerts,
    alerts_evaluate_reading,
    alerts_fire_reached,
)
from alerts.services.limits import limits_evaluate
from alerts.services.progress import alert_usage_count
from alerts.services.thresholds import billing_thresholds_evaluate
from core.models import TestClock
from metering.selectors import customers_with_events_received
from metering.storage.watermark import events_settled_through


def usage_changes_evaluate(*, now: datetime) -> int:
    """Count the usage received since the last run and act on it; returns firings.

    None of it happens while an ingestion transaction that may hold older events
    is still open: that transaction's commit queues the next run.
    """
    settled = events_settled_through(wait_seconds=settings.TALLY_USAGE_SETTLE_WAIT)
    if settled is None:
        return 0
    after, through = alert_usage_count(now=now, settled_through=settled)
    fired = alerts_fire_reached(now=now)
    if through <= after:
        return fired
    changed = customers_with_events_received(after_id=after, through_id=through)
    in_real_time = [customer for customer, clock in changed if clock is None]
    if in_real_time:
        fired += alerts_evaluate_reading(
            alerts=active_alerts(test_clock=None, additive=False),
            now=now,
            test_clock=None,
            among=in_real_time,
        )
        billing_thresholds_evaluate(now=now, customer_ids=in_real_time)
        limits_evaluate(now=now, customer_ids=in_real_time)
        fired += credit_balance_alerts_evaluate(now=now, customer_ids=in_real_time)
    clock_ids = sorted({clock for _, clock in changed if clock is not None})
    for clock in TestClock.objects.filter(
        pk__in=clock_ids, status=TestClock.Status.READY
    ).order_by("pk"):
        clock_evaluate(clock=clock, now=clock.frozen_time)
    return fired
