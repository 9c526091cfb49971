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


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def credit_grant_expiry_notices_send_task() -> int:
    """Email customers whose credits expire soon; each grant is noticed once.

    Idempotent: the notice is claimed by a conditional update in the transaction
    that queues the email, so reruns and a second worker send nothing more.
    """
    return services.credit_grant_expiry_notices_send_due(now=clock.now())
