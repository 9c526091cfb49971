"""Celery tasks of the alerts app: read "now", call one service.

The Beat jobs handle real-time customers only; customers on a test clock are
evaluated when their clock advances (see ``AlertsConfig.ready``) and when their
usage arrives (``usage_changes_evaluate_task``).
"""

from celery import shared_task

from alerts import services
from alerts.services import limits
from core import clock


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def alerts_evaluate_task() -> int:
    """Fire usage alerts whose threshold a customer reached.

    Idempotent: a firing is a unique (alert, customer) row, so reruns and a second
    worker fire nothing twice.
    """
    return services.alerts_evaluate(now=clock.now())


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def billing_thresholds_evaluate_task() -> int:
    """Issue threshold invoices for subscriptions over a billing threshold.

    Idempotent: each crossing is re-checked under the subscription's lock and
    recorded by a unique (subscription, period, sequence) row.
    """
    return services.billing_thresholds_evaluate(now=clock.now())


@shared_task(time_limit=120, soft_time_limit=100)
def usage_changes_evaluate_task() -> int:
    """Act on the usage received since the last run (queued by each commit).

    Idempotent, and a lost run is made up by the next commit or the Beat job.
    """
    return services.usage_changes_evaluate(now=clock.now())


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def limits_evaluate_task() -> int:
    """Cut and restore features of real-time customers with usage limits.

    The safety net behind the ingestion trigger. Idempotent: a crossing is a
    unique row, at most one in force per (limit, customer), decided under the
    customer's access lock, so reruns and a second worker act on nothing twice.
    """
    return limits.limits_evaluate(now=clock.now())
