"""Celery tasks of the billing app: read "now", call one service.

Both jobs handle real-time customers only; customers on a test clock move when
their clock advances (see ``BillingConfig.ready``).
"""

from celery import shared_task

from billing import services
from core import clock


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3500)
def subscriptions_close_due_task() -> int:
    return services.subscriptions_close_due(now=clock.now())


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3500)
def invoices_finalize_due_task() -> int:
    now = clock.now()
    finalized = services.invoices_finalize_due(now=now)
    services.subscriptions_settle_due(now=now)
    return finalized
