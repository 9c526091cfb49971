"""Finalization: re-price usage, apply credits, freeze amounts, number the invoice.

Locking policy (every billing service follows it, so no two can deadlock):
subscription → invoice → customer, each ``select_for_update`` in that order. The
customer row serialises invoice numbers (``next_invoice_sequence``): numbers are
sequential per customer prefix with no gaps, even with concurrent finalizations.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from billing.models import Invoice, InvoiceLineItem, Subscription
from billing.services import credits
from billing.services.events import emit
from billing.services.lines import (
    USAGE_KINDS,
    UsageReader,
    billed_usage,
    usage_draft,
)
from core.errors import InvalidState
from core.models import Customer

_REPRICED_FIELDS = ["quantity", "amount", "unit_amount_decimal", "description"]


def invoice_lines(invoice: Invoice) -> list[InvoiceLineItem]:
    """The invoice's lines in order, with prices, products and meters.

    Tiers are read once per price by ``spec_of`` (they never change).
    """
    return list(
        invoice.lines.select_related(
            "price__product", "price__recurring_meter"
        ).order_by("position")
    )


def _usage_lines(lines: list[InvoiceLineItem], now: datetime):
    """Usage lines whose period is over: their usage is re-read at finalization."""
    return [
        line
        for line in lines
        if line.kind in USAGE_KINDS
        and line.subscription_item_id
        and line.price_id
        and line.period_end <= now
    ]


def usage_reprice(
    *,
    invoice: Invoice,
    lines: list[InvoiceLineItem],
    now: datetime,
    usage: UsageReader,
) -> list[InvoiceLineItem]:
    """Price usage lines with the usage known now (late events in the grace period).

    Each line bills price(usage now) − price(usage on the period's other lines).
    Returns the lines that changed.
    """
    targets = _usage_lines(lines, now)
    already = billed_usage(
        keys={(line.subscription_item_id, line.period_start) for line in targets},
        exclude_invoice_id=invoice.pk,
    )
    changed = []
    for line in targets:
        total = usage.usage(
            line.price.recurring_meter,
            invoice.customer_id,
            line.period_start,
            line.period_end,
        )
        draft = usage_draft(
            price=line.price,
            subscription_id=line.subscription_id,
            subscription_item_id=line.subscription_item_id,
            start=line.period_start,
            end=line.period_end,
            total=total,
            already=already.get((line.subscription_item_id, line.period_start)),
            late=line.kind == InvoiceLineItem.Kind.LATE_USAGE,
        )
        if (draft.quantity, draft.amount) != (line.quantity, line.amount):
            line.quantity, line.amount = draft.quantity, draft.amount
            line.unit_amount_decimal = draft.unit_amount_decimal
            line.description = draft.description
            changed.append(line)
    return changed


def totals_compute(invoice: Invoice, lines: list[InvoiceLineItem], credit: int = 0):
    """Set subtotal, total and amounts due of an unfinalized invoice."""
    invoice.subtotal = sum(line.amount for line in lines)
    invoice.total = invoice.subtotal - credit
    invoice.amount_due = max(invoice.total + invoice.starting_balance, 0)
    invoice.amount_remaining = invoice.amount_due
    invoice.amount_paid = 0


def _apply_balance(invoice: Invoice, customer: Customer) -> bool:
    """Use the customer's balance (negative = credit); returns whether it changed."""
    invoice.starting_balance = customer.balance
    due = invoice.total + customer.balance
    invoice.amount_due = max(due, 0)
    invoice.ending_balance = min(due, 0)
    invoice.amount_remaining = invoice.amount_due
    changed = customer.balance != invoice.ending_balance
    customer.balance = invoice.ending_balance
    return changed


def _number(invoice: Invoice, customer: Customer) -> None:
    invoice.number = f"{customer.invoice_prefix}-{customer.next_invoice_sequence:04d}"
    customer.next_invoice_sequence += 1


def _freeze(invoice: Invoice, customer: Customer, now: datetime) -> None:
    invoice.status = Invoice.Status.OPEN
    invoice.finalized_at = invoice.effective_at = now
    invoice.finalize_at = None
    invoice.customer_name = customer.name
    invoice.customer_email = customer.email
    invoice.customer_address = customer.address
    if (
        invoice.collection_method == Invoice.CollectionMethod.SEND_INVOICE
        and invoice.due_date is None
    ):
        invoice.due_date = now + timedelta(days=invoice.days_until_due or 30)
    if invoice.amount_due == 0:
        invoice.status = Invoice.Status.PAID
        invoice.paid_at = now
        invoice.auto_advance = False


def invoice_finalize(
    *,
    invoice: Invoice,
    now: datetime,
    usage: UsageReader | None = None,
    only_if_due: bool = False,
) -> Invoice:
    """Finalize a draft: usage, credits, balance, number; zero due is paid at once.

    ``only_if_due`` (jobs) skips, without error, a draft finalized or edited away
    from auto-finalization meanwhile.
    """
    usage = usage or UsageReader()
    requested = invoice
    with transaction.atomic():
        # The invoice and its customer (numbers, balance) are locked together.
        # Jobs skip an invoice another worker holds; a later run finishes it.
        invoice = (
            Invoice.objects.select_for_update(
                of=("self", "customer"), skip_locked=only_if_due
            )
            .select_related("subscription", "customer")
            .filter(pk=invoice.pk)
            .first()
        )
        if invoice is None:
            return requested
        if only_if_due and not (
            invoice.is_draft
            and invoice.auto_advance
            and invoice.finalize_at is not None
            and invoice.finalize_at <= now
        ):
            return invoice
        if not invoice.is_draft:
            raise InvalidState(
                "This invoice is already finalized, you can't re-finalize a "
                "non-draft invoice.",
                code="invoice_not_editable",
            )
        lines = invoice_lines(invoice)
        changed = usage_reprice(invoice=invoice, lines=lines, now=now, usage=usage)
        applied = credits.invoice_credits_apply(invoice=invoice, lines=lines, now=now)
        totals_compute(invoice, lines, applied)
        customer = invoice.customer
        balance_changed = _apply_balance(invoice, customer)
        _number(invoice, customer)
        _freeze(invoice, customer, now)
        fields = ["next_invoice_sequence"] + (["balance"] if balance_changed else [])
        customer.save(update_fields=fields)
        if changed:
            InvoiceLineItem.objects.bulk_update(changed, _REPRICED_FIELDS)
        credited = [line for line in lines if line.pretax_credit_amounts]
        if credited:
            InvoiceLineItem.objects.bulk_update(credited, ["pretax_credit_amounts"])
        invoice.save()
        invoice._prefetched_lines = lines
        invoice.finalized_now = True
        emit("invoice.finalized", invoice)
        if invoice.status == Invoice.Status.PAID:
            emit("invoice.paid", invoice)
            _activate_subscription(invoice)
    return invoice


def _activate_subscription(invoice: Invoice) -> None:
    """An incomplete subscription becomes active once its first invoice is paid."""
    if invoice.subscription_id is not None:
        Subscription.objects.filter(
            pk=invoice.subscription_id, status=Subscription.Status.INCOMPLETE
        ).update(status=Subscription.Status.ACTIVE, incomplete_expires_at=None)


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
    """Finalize every due draft, each in its own transaction, in id order."""
    ids = list(
        due_drafts(now=now, test_clock=test_clock)
        .order_by("id")
        .values_list("id", flat=True)
    )
    usage, done = UsageReader(), 0
    for start in range(0, len(ids), chunk):
        batch = ids[start : start + chunk]
        lines = InvoiceLineItem.objects.filter(
            invoice_id__in=batch, kind__in=USAGE_KINDS
        ).select_related("price__recurring_meter", "invoice")
        for line in lines:
            if line.period_end <= now and line.price.recurring_meter is not None:
                usage.expect(
                    line.price.recurring_meter,
                    line.invoice.customer_id,
                    line.period_start,
                    line.period_end,
                )
        for invoice_id in batch:
            invoice = invoice_finalize(
                invoice=Invoice(pk=invoice_id), now=now, usage=usage, only_if_due=True
            )
            done += getattr(invoice, "finalized_now", False)
    return done
