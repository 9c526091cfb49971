"""The Beat job and test-clock handler: retries that are due, stuck attempts and
stuck refunds.

Each invoice is attempted in its own transactions (``invoice_payment_attempt``),
in id order; an attempt is unique per (invoice, number), so a second worker or a
rerun does nothing more. Attempts and refunds left ``pending`` by a crashed
worker are reconciled with the processor, by their keys, once they are older than
a few minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db.models import F, Q

from billing.models import Invoice
from payments.models import PaymentAttempt, PaymentMethod
from payments.services.collection import invoice_payment_attempt
from payments.services.defaults import payment_method_candidates
from payments.services.refunds import refunds_pending_retry

# A pending attempt younger than this may still be in its worker's hands.
STALE_PENDING = timedelta(minutes=5)


def _due(now: datetime, test_clock) -> Q:
    return Q(
        status__in=("open", "uncollectible"),
        collection_method="charge_automatically",
        next_payment_attempt__lte=now,
        amount_remaining__gt=0,
        test_clock=test_clock,
    )


def invoices_collect_due(*, now: datetime, test_clock=None, limit: int = 1000) -> int:
    """Attempt every invoice whose next payment attempt is due; returns how many."""
    done = 0
    due = (
        Invoice.objects.filter(_due(now, test_clock))
        .order_by("id")
        .values_list("id", "attempt_count")[:limit]
    )
    for invoice_id, attempts in list(due):
        if invoice_payment_attempt(invoice_id=invoice_id, number=attempts + 1, now=now):
            done += 1
    stale = (
        PaymentAttempt.objects.filter(
            status=PaymentAttempt.Status.PENDING,
            created__lte=now - STALE_PENDING,
            invoice__test_clock=test_clock,
        )
        .order_by("id")
        .values_list("invoice_id", flat=True)[:limit]
    )
    for invoice_id in list(stale):
        invoice_payment_attempt(invoice_id=invoice_id, now=now)
        done += 1
    return done + refunds_pending_retry(now=now, test_clock=test_clock, limit=limit)


def _collectable(invoice: Invoice) -> bool:
    return (
        invoice.status == "open"
        and invoice.collection_method == "charge_automatically"
        and invoice.amount_remaining > 0
        and invoice.attempt_count == 0
    )


def _collectable_read(invoice_ids: list[str]) -> list[Invoice]:
    return list(
        Invoice.objects.filter(
            pk__in=invoice_ids,
            status="open",
            collection_method="charge_automatically",
            amount_remaining__gt=0,
            attempt_count=0,
        )
        .select_related("customer", "subscription")
        # What ``payment_method_candidates`` reads: a chunk of thousands of wide
        # rows would otherwise cost more to build than the whole decision.
        .only(
            "customer_id",
            "subscription_id",
            "default_payment_method",
            "customer__invoice_settings",
            "subscription__default_payment_method",
        )
    )


def next_collection(*, test_clock) -> datetime | None:
    """When the clock's earliest planned payment attempt comes."""
    return (
        Invoice.objects.filter(
            test_clock=test_clock,
            status__in=("open", "uncollectible"),
            collection_method="charge_automatically",
            next_payment_attempt__isnull=False,
            amount_remaining__gt=0,
        )
        .order_by("next_payment_attempt")
        .values_list("next_payment_attempt", flat=True)
        .first()
    )


def invoices_collection_start(
    *, invoice_ids: list[str], invoices: Sequence[Invoice] | None = None
) -> list[str]:
    """Plan the first attempt of just-finalized invoices charged automatically.

    Only invoices with a payment method to charge are planned: without one an
    invoice stays open as before collection existed (staff or the customer pays).
    ``invoices``, finalization's own rows of ``invoice_ids`` (just written, with
    their subscriptions and customers), spare reading them again.
    """
    if invoices is None:
        invoices = _collectable_read(invoice_ids)
    else:
        invoices = [invoice for invoice in invoices if _collectable(invoice)]
    candidates = {
        invoice.pk: payment_method_candidates(invoice) for invoice in invoices
    }
    attached = set(
        PaymentMethod.objects.filter(
            pk__in={pm for ids in candidates.values() for pm in ids}
        ).values_list("pk", "customer_id")
    )
    ids = [
        invoice.pk
        for invoice in invoices
        if any((pm, invoice.customer_id) in attached for pm in candidates[invoice.pk])
    ]
    if ids:
        # At once: the first attempt is due when the invoice was finalized.
        Invoice.objects.filter(pk__in=ids).update(
            next_payment_attempt=F("finalized_at")
        )
    return ids
