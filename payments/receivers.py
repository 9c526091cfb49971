"""How payments follows billing: finalized invoices are queued for collection."""

from __future__ import annotations

from django.db import transaction

from core.queue import enqueue
from payments.services.due import invoices_collection_start


def on_invoices_finalized(
    sender, invoice_ids: list[str], invoices=None, **kwargs
) -> None:
    """Plan attempt 1 (in the finalizing transaction); charge after commit."""
    started = invoices_collection_start(invoice_ids=invoice_ids, invoices=invoices)
    for invoice_id in started:
        transaction.on_commit(
            lambda invoice_id=invoice_id: _queue(invoice_id), robust=True
        )


def _queue(invoice_id: str) -> None:
    # A broker that is down only delays the charge: the Beat job finds it due.
    enqueue("invoice_payment_attempt", invoice_id, 1)
