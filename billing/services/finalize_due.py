"""The finalization job: drafts whose grace period ended, a chunk at a time."""

from __future__ import annotations

from datetime import datetime

from billing.compose.collect import UsageReader
from billing.models import Invoice
from billing.services.finalize import invoice_finalize, invoices_finalize_locked
from billing.services.jobs import chunks_run
from core.models import Customer


def due_drafts(*, now: datetime, test_clock=None):
    """Drafts whose grace period ended and that finalize by themselves."""
    return Invoice.objects.filter(
        status=Invoice.Status.DRAFT,
        auto_advance=True,
        finalize_at__lte=now,
        test_clock=test_clock,
    )


def next_finalization(*, test_clock) -> datetime | None:
    """When the clock's earliest draft finalizes (clock handler)."""
    return (
        Invoice.objects.filter(
            status=Invoice.Status.DRAFT,
            auto_advance=True,
            finalize_at__isnull=False,
            test_clock=test_clock,
        )
        .order_by("finalize_at")
        .values_list("finalize_at", flat=True)
        .first()
    )


def invoices_finalize_due(*, now: datetime, test_clock=None, chunk: int = 500) -> int:
    """Finalize every due draft, a chunk per transaction, in id order.

    Drafts are claimed with ``FOR UPDATE SKIP LOCKED``, so workers side by side
    never take the same one; their customers are then locked in id order (a
    customer another worker holds is waited for, never skipped, so no draft is
    left behind). A failed chunk is redone one draft per transaction
    (``billing.services.jobs``).
    """
    usage = UsageReader()
    return chunks_run(
        claim=lambda after: _claim(
            now=now, test_clock=test_clock, after=after, chunk=chunk
        ),
        chunk_do=lambda invoices: _finalize_chunk(invoices, now, usage),
        one_do=lambda pk: _finalize_one(pk, now, usage),
    )


def _finalize_chunk(invoices: list[Invoice], now: datetime, usage) -> int:
    invoices_finalize_locked(invoices=invoices, now=now, usage=usage)
    return len(invoices)


def _finalize_one(invoice_id: str, now: datetime, usage) -> int:
    invoice = invoice_finalize(
        invoice=Invoice(pk=invoice_id), now=now, usage=usage, only_if_due=True
    )
    return int(getattr(invoice, "finalized_now", False))


def _claim(*, now: datetime, test_clock, after: str, chunk: int) -> list[Invoice]:
    """Lock the next due drafts no other worker holds, then their customers."""
    invoices = list(
        due_drafts(now=now, test_clock=test_clock)
        .filter(pk__gt=after)
        .select_for_update(of=("self",), skip_locked=True)
        .select_related("subscription")
        .order_by("id")[:chunk]
    )
    customers = {
        customer.pk: customer
        for customer in Customer.objects.select_for_update()
        .filter(pk__in={invoice.customer_id for invoice in invoices})
        .order_by("pk")
    }
    for invoice in invoices:
        invoice.customer = customers[invoice.customer_id]
    return invoices
