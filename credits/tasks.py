"""Celery tasks of the credits app: read "now", call one service."""

from celery import shared_task

from core import clock
from credits import services


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def credit_grants_process_due_task() -> int:
    """Grant credits that became effective and expire what is past ``expires_at``.

    Idempotent (each grant is locked and re-checked, and the ledger's unique
    constraint allows one grant and one expiry per grant), so reruns are harmless.
    """
    return services.credit_grants_process_due(now=clock.now())
