"""Celery tasks of the core app: thin wrappers that read "now" and call a service.

Services queue these through ``core.queue.enqueue`` by name (registered below),
so no service imports this module back.
"""

from celery import shared_task

from core import clock
from core.queue import task_register
from core.services import idempotency, test_clocks


# An advance resumes where it stopped (core.services.test_clocks), so its message is
# acknowledged only once it ran, and goes back to the queue if its worker dies.
@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=3600,
    soft_time_limit=3500,
)
def test_clock_advance_task(test_clock_id: str) -> None:
    test_clocks.test_clock_run_advance(test_clock_id=test_clock_id)


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def test_clocks_resume_stale_task() -> int:
    return test_clocks.test_clocks_resume_stale(now=clock.now())


@shared_task(acks_late=True)
def idempotency_keys_prune_task() -> int:
    return idempotency.idempotency_keys_prune(now=clock.now())


@shared_task(acks_late=True)
def test_clocks_delete_expired_task() -> int:
    return test_clocks.test_clocks_delete_expired(now=clock.now())


# ---- webhooks and email ----------------------------------------------------------
# A send task's hard limit stays well under the delivery lease (5 minutes), so a
# lease is only ever taken over from a worker that is gone.


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def webhook_delivery_send_task(delivery_id: int, lease_token: str) -> bool | None:
    from core.webhooks import sending

    return sending.delivery_attempt(
        delivery_id=delivery_id, lease_token=lease_token, now=clock.now()
    )


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def webhook_lane_send_task(
    endpoint_id: str, lane: int, lease_token: str, delivery_ids: list[int]
) -> int:
    from core.webhooks import sending

    return sending.lane_send(
        endpoint_id=endpoint_id,
        lane=lane,
        lease_token=lease_token,
        delivery_ids=delivery_ids,
        now=clock.now(),
    )


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def webhook_deliveries_dispatch_due_task() -> int:
    from core.webhooks import dispatch

    return dispatch.deliveries_dispatch_due(now=clock.now())


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def webhook_fanout_reconcile_task() -> int:
    from core.webhooks import dispatch

    return dispatch.fanout_reconcile(now=clock.now())


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def email_send_task(email_id: int) -> bool:
    from core import notifications

    return notifications.outbound_email_send(email_id=email_id, now=clock.now())


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def emails_send_task(email_ids: list[int]) -> int:
    """Send a batch of queued messages (one task per batch job's chunk)."""
    from core import notifications

    return notifications.outbound_emails_send(email_ids=email_ids, now=clock.now())


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def emails_send_due_task() -> int:
    from core import notifications

    return notifications.outbound_emails_send_due(now=clock.now())


for _name, _task in {
    "test_clock_advance": test_clock_advance_task,
    "webhook_delivery_send": webhook_delivery_send_task,
    "webhook_lane_send": webhook_lane_send_task,
    "email_send": email_send_task,
    "emails_send": emails_send_task,
}.items():
    task_register(_name, _task)
