"""Alerts and billing thresholds on test clocks: evaluated as time passes.

An advance stops, for this handler, at the clock's time when nothing was evaluated
there yet (usage reported at the frozen time), and just after each moment the
clock's customers have usage coming: an event received (``created``) or happening
(``timestamp``) later than the frozen time. Usage reported through the API lands
at the frozen time; tests may record usage ahead of the clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Min, Q

from alerts.models import ClockEvaluation, UsageLimit, UsageLimitCrossing
from alerts.services.evaluation import active_alerts, alerts_evaluate
from alerts.services.limits import limits_evaluate
from alerts.services.thresholds import billing_thresholds_evaluate
from billing.models import Subscription
from core.models import TestClock
from metering.models import MeterEvent

SECOND = timedelta(seconds=1)


def _has_work(test_clock: TestClock) -> bool:
    subscriptions = Subscription.objects.filter(
        test_clock=test_clock, status__in=("active", "past_due", "unpaid")
    )
    with_thresholds = subscriptions.filter(
        threshold_amount_gte__isnull=False
    ) | subscriptions.filter(items__usage_gte__isnull=False)
    return (
        with_thresholds.exists()
        or bool(active_alerts(test_clock=test_clock))
        or _has_limits(test_clock)
    )


def _has_limits(test_clock: TestClock) -> bool:
    """Limits that may concern the clock's customers (price limits: anyone's)."""
    limits = UsageLimit.objects.filter(status=UsageLimit.Status.ACTIVE).filter(
        Q(test_clock=test_clock) | Q(price__isnull=False)
    )
    cut = UsageLimitCrossing.objects.filter(
        customer__test_clock=test_clock, lifted_at__isnull=True
    )
    return limits.exists() or cut.exists()


def _next_usage(test_clock: TestClock) -> datetime | None:
    """The next whole second after the clock's earliest usage still to come."""
    frozen = test_clock.frozen_time
    events = MeterEvent.objects.filter(customer__test_clock=test_clock)
    moments = [
        events.filter(created__gt=frozen).aggregate(at=Min("created"))["at"],
        events.filter(timestamp__gte=frozen).aggregate(at=Min("timestamp"))["at"],
    ]
    moments = [moment for moment in moments if moment is not None]
    if not moments:
        return None
    # Usage counts over [period start, now): stop just after the event.
    return min(moments).replace(microsecond=0) + SECOND


def clock_next_due(*, clock: TestClock, until: datetime) -> datetime | None:
    """When alerts and thresholds of the clock's customers next need evaluating."""
    if not _has_work(clock):
        return None
    state = ClockEvaluation.objects.filter(test_clock=clock).first()
    if state is None or state.evaluated_at < clock.frozen_time:
        return clock.frozen_time
    return _next_usage(clock)


def clock_evaluate(*, clock: TestClock, now: datetime) -> None:
    """Fire the clock's alerts, apply its usage limits, issue threshold invoices."""
    alerts_evaluate(now=now, test_clock=clock)
    limits_evaluate(now=now, test_clock=clock)
    billing_thresholds_evaluate(now=now, test_clock=clock)
    ClockEvaluation.objects.update_or_create(
        test_clock=clock, defaults={"evaluated_at": now}
    )
