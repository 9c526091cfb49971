"""Two workers charging one invoice at once: one charge, one payment, one event."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from billing.models import Invoice
from core.models import Event
from payments.models import PaymentAttempt, SimulatedCharge
from payments.services.collection import invoice_payment_attempt
from payments.services.due import invoices_collect_due
from tests.payments.factories import T0, customer_with_card, open_invoice


def _race(target, workers: int = 2) -> list[BaseException]:
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def run():
        try:
            barrier.wait()
            target()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("number", [1, None], ids=["job", "api"])
def test_two_workers_charge_an_invoice_once(number, no_auto_collection):
    invoice = open_invoice(customer_with_card("pm_card_visa"))
    errors = _race(
        lambda: invoice_payment_attempt(invoice_id=invoice.pk, number=number, now=T0)
    )
    assert errors == []
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert invoice.amount_paid == 12_345
    assert SimulatedCharge.objects.count() == 1
    assert PaymentAttempt.objects.filter(status="succeeded").count() == 1
    assert Event.objects.filter(type="invoice.paid", object_id=invoice.pk).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_beat_runs_at_once_attempt_each_invoice_once():
    invoices = [
        open_invoice(customer_with_card("pm_card_chargeDeclined")) for _ in range(3)
    ]
    # Finalization charged each once already (after commit); plan a retry now.
    assert PaymentAttempt.objects.count() == 3
    Invoice.objects.filter(pk__in=[i.pk for i in invoices]).update(
        next_payment_attempt=T0
    )
    errors = _race(lambda: invoices_collect_due(now=T0))
    assert errors == []
    assert PaymentAttempt.objects.count() == 6
    assert SimulatedCharge.objects.count() == 6
    for invoice in invoices:
        invoice.refresh_from_db()
        assert invoice.attempt_count == 2
