"""Celery tasks of the payments app: read "now", call one service.

Services queue these through ``core.queue.enqueue`` by name (registered below).
"""

from celery import shared_task

from billing.models import Invoice
from core import clock
from core.queue import task_register
from payments.services.collection import invoice_payment_attempt
from payments.services.due import invoices_collect_due
from payments.services.receivables import invoice_reminders_send_due
from payments.services.top_ups import auto_top_ups_evaluate


# Idempotent per (invoice, attempt number): safe to acknowledge late and rerun.
@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def invoice_payment_attempt_task(invoice_id: str, number: int) -> bool:
    invoice = (
        Invoice.objects.select_related("customer__test_clock")
        .filter(pk=invoice_id)
        .first()
    )
    if invoice is None:
        return False
    attempt = invoice_payment_attempt(
        invoice_id=invoice_id,
        number=number,
        now=clock.now_for_customer(invoice.customer),
    )
    return attempt is not None


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3500)
def invoices_collect_due_task() -> int:
    return invoices_collect_due(now=clock.now())


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def auto_top_ups_evaluate_task() -> int:
    return auto_top_ups_evaluate(now=clock.now())


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def invoice_reminders_send_due_task() -> int:
    return invoice_reminders_send_due(now=clock.now())


task_register("invoice_payment_attempt", invoice_payment_attempt_task)
