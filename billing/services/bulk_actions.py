"""Finalize, send or void many invoices at once (the invoice list's actions).

Each invoice is one call of its own service, in its own transaction, in id
order: one refused invoice (already paid, a draft that cannot be sent) leaves the
others done, and the result says which were done and why each other was not.
The actor of every change is whoever acts (``core.audit``), as for one invoice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction

from billing.models import Invoice
from billing.services.invoices import (
    invoice_finalize_manual,
    invoice_send,
    invoice_void,
)
from core import clock
from core.errors import TallyError

BULK_ACTIONS: dict[str, Callable[..., Invoice]] = {
    "finalize": invoice_finalize_manual,
    "send": invoice_send,
    "void": invoice_void,
}


@dataclass
class BulkResult:
    """Ids done, and (id or number, reason) of each invoice refused."""

    done: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def invoices_bulk_action(*, action: str, invoice_ids: Iterable[str]) -> BulkResult:
    """Apply ``action`` (finalize, send or void) to each invoice on its own."""
    service = BULK_ACTIONS[action]
    result = BulkResult()
    for invoice_id in sorted(set(invoice_ids)):
        invoice = (
            Invoice.objects.select_related("customer__test_clock")
            .filter(pk=invoice_id)
            .first()
        )
        if invoice is None:
            result.refused.append((invoice_id, "No such invoice."))
            continue
        try:
            with transaction.atomic():
                service(invoice=invoice, now=clock.now_for_customer(invoice.customer))
        except TallyError as error:
            result.refused.append((invoice.number or invoice.pk, error.message))
        else:
            result.done.append(invoice.pk)
    return result
