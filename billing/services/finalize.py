"""Finalization: re-price usage, apply credits, freeze amounts, number the invoice.

Locking policy (every billing service follows it, so no two can deadlock):
subscription → invoice → customer, each ``select_for_update`` in that order, many
rows of one table in primary-key order. The customer row serialises invoice
numbers (``next_invoice_sequence``): numbers are sequential per customer prefix
with no gaps, even with concurrent finalizations.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import transaction

from billing.bulk import bulk_save
from billing.models import Invoice, InvoiceLineItem, Subscription
from billing.services import credits
from billing.services.events import EventBatch
from billing.services.jobs import chunks_run
from billing.services.lines import (
    USAGE_KINDS,
    UsageReader,
    attach_prices,
    billed_usage_by_invoice,
    usage_draft,
)
from billing.services.notifications import invoices_finalized_notify
from core.errors import InvalidRequest, InvalidState
from core.models import Customer
from core.numbers import plain_digits

_REPRICED_FIELDS = ["quantity", "amount", "unit_amount_decimal", "description"]
# What finalization sets on an invoice.
_FINALIZED_FIELDS = [
    "subtotal",
    "total",
    "starting_balance",
    "ending_balance",
    "amount_due",
    "amount_paid",
    "amount_remaining",
    "total_pretax_credit_amounts",
    "number",
    "status",
    "finalized_at",
    "effective_at",
    "finalize_at",
    "paid_at",
    "auto_advance",
    "due_date",
    "customer_name",
    "customer_email",
    "customer_address",
]


def invoice_lines(invoice: Invoice) -> list[InvoiceLineItem]:
    """The invoice's lines in order, with prices, products and meters.

    Tiers are read once per price by ``spec_of`` (they never change).
    """
    return list(
        invoice.lines.select_related(
            "price__product", "price__recurring_meter"
        ).order_by("position")
    )


def lines_by_invoice(invoice_ids: Sequence[str]) -> dict[str, list[InvoiceLineItem]]:
    """The lines of many invoices (as ``invoice_lines``), in two queries."""
    found: dict[str, list[InvoiceLineItem]] = {pk: [] for pk in invoice_ids}
    rows = list(
        InvoiceLineItem.objects.filter(invoice_id__in=list(found)).order_by(
            "invoice_id", "position"
        )
    )
    attach_prices(rows)
    for line in rows:
        found[line.invoice_id].append(line)
    return found


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
    invoices: Sequence[Invoice],
    lines: dict[str, list[InvoiceLineItem]],
    now: datetime,
    usage: UsageReader,
) -> list[InvoiceLineItem]:
    """Price usage lines with the usage known now (late events in the grace period).

    Each line bills price(usage now) − price(usage on the period's other lines):
    what other invoices billed is read once for all ``invoices``. Returns the
    lines that changed.
    """
    targets = {invoice.pk: _usage_lines(lines[invoice.pk], now) for invoice in invoices}
    for invoice in invoices:
        for line in targets[invoice.pk]:
            usage.expect(
                line.price.recurring_meter,
                invoice.customer_id,
                line.period_start,
                line.period_end,
            )
    billed = billed_usage_by_invoice(
        keys={
            invoice_id: {
                (line.subscription_item_id, line.period_start) for line in rows
            }
            for invoice_id, rows in targets.items()
        }
    )
    changed = []
    for invoice in invoices:
        already = billed[invoice.pk]
        for line in targets[invoice.pk]:
            if _reprice(line, invoice.customer_id, usage, already):
                changed.append(line)
    return changed


def _reprice(line: InvoiceLineItem, customer_id: str, usage: UsageReader, already):
    """Price one usage line again; returns whether its amount or quantity moved."""
    total = usage.usage(
        line.price.recurring_meter, customer_id, line.period_start, line.period_end
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
    if (draft.quantity, draft.amount) == (line.quantity, line.amount):
        return False
    line.quantity, line.amount = draft.quantity, draft.amount
    line.unit_amount_decimal = draft.unit_amount_decimal
    line.description = draft.description
    return True


def totals_compute(invoice: Invoice, lines: list[InvoiceLineItem], credit: int = 0):
    """Set subtotal, total and amounts due of an unfinalized invoice."""
    invoice.subtotal = sum(line.amount for line in lines)
    invoice.total = invoice.subtotal - credit
    invoice.amount_due = max(invoice.total + invoice.starting_balance, 0)
    invoice.amount_remaining = invoice.amount_due
    invoice.amount_paid = 0


def _apply_balance(invoice: Invoice, customer: Customer) -> None:
    """Use the customer's balance (negative = credit)."""
    invoice.starting_balance = customer.balance
    due = invoice.total + customer.balance
    invoice.amount_due = max(due, 0)
    invoice.ending_balance = min(due, 0)
    invoice.amount_remaining = invoice.amount_due
    customer.balance = invoice.ending_balance


def next_number_check(customer: Customer) -> None:
    """Refuse a prefix and next sequence that would repeat a number one of the
    customer's invoices has (a prefix used before, a sequence set back)."""
    prefix = f"{customer.invoice_prefix}-"
    numbers = Invoice.objects.filter(
        customer=customer, number__startswith=prefix
    ).values_list("number", flat=True)
    sequences = [number[len(prefix) :] for number in numbers]
    used = max((int(digits) for digits in sequences if plain_digits(digits)), default=0)
    if customer.next_invoice_sequence <= used:
        raise InvalidRequest(
            f"Invoice number {prefix}{used:04d} is taken: with the prefix "
            f"{customer.invoice_prefix}, next_invoice_sequence must be at least "
            f"{used + 1}.",
            param="next_invoice_sequence",
        )


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
        if only_if_due and not _is_due(invoice, now):
            return invoice
        if not invoice.is_draft:
            raise InvalidState(
                "This invoice is already finalized, you can't re-finalize a "
                "non-draft invoice.",
                code="invoice_not_editable",
            )
        invoices_finalize_locked(
            invoices=[invoice], now=now, usage=usage or UsageReader()
        )
    return invoice


def _is_due(invoice: Invoice, now: datetime) -> bool:
    return (
        invoice.is_draft
        and invoice.auto_advance
        and invoice.finalize_at is not None
        and invoice.finalize_at <= now
    )


def invoices_finalize_locked(
    *, invoices: Sequence[Invoice], now: datetime, usage: UsageReader
) -> None:
    """Finalize drafts whose rows and customers' rows this transaction has locked.

    Invoices of one customer must share one ``Customer`` instance (numbers run on
    in it). Reads and writes are set-based: a chunk of drafts costs about a dozen
    queries, one draft about as many.
    """
    lines = lines_by_invoice([invoice.pk for invoice in invoices])
    changed = usage_reprice(invoices=invoices, lines=lines, now=now, usage=usage)
    customer_ids = {invoice.customer_id for invoice in invoices}
    # For one customer, the credits step's own read answers as cheaply.
    with_credits = customer_ids
    if len(customer_ids) > 1:
        with_credits = credits.customers_with_credits(
            customer_ids=customer_ids, now=now
        )
    for invoice in invoices:
        _price_and_number(invoice, lines[invoice.pk], now, with_credits)
    _save(invoices, lines, changed)
    _announce(invoices, lines)


def _price_and_number(invoice, lines, now, with_credits: set[str]) -> None:
    """Credits, totals, the customer's balance, the number, the frozen snapshot.

    Only customers in ``with_credits`` may have grants that apply.
    """
    applied = credits.invoice_credits_apply(
        invoice=invoice,
        lines=lines,
        now=now,
        has_grants=invoice.customer_id in with_credits,
    )
    totals_compute(invoice, lines, applied)
    _apply_balance(invoice, invoice.customer)
    _number(invoice, invoice.customer)
    _freeze(invoice, invoice.customer, now)


def _save(invoices, lines, changed) -> None:
    """Customers, then lines, then invoices: lines freeze with their invoice."""
    customers = {invoice.customer_id: invoice.customer for invoice in invoices}
    bulk_save(list(customers.values()), ["next_invoice_sequence", "balance"])
    bulk_save(changed, _REPRICED_FIELDS)
    credited = [
        line
        for invoice in invoices
        for line in lines[invoice.pk]
        if line.pretax_credit_amounts
    ]
    bulk_save(credited, ["pretax_credit_amounts"])
    bulk_save(invoices, _FINALIZED_FIELDS)


def _announce(invoices, lines) -> None:
    """Events (finalized, paid), subscriptions activated, the customer email."""
    events = EventBatch()
    paid = []
    for invoice in invoices:
        invoice._prefetched_lines = lines[invoice.pk]
        invoice.finalized_now = True
        events.emit("invoice.finalized", invoice)
        if invoice.status == Invoice.Status.PAID:
            events.emit("invoice.paid", invoice)
            paid.append(invoice)
    events.record()
    _activate_subscriptions(paid)
    invoices_finalized_notify(invoices=invoices)


def _activate_subscriptions(invoices: Sequence[Invoice]) -> None:
    """An incomplete subscription becomes active once its first invoice is paid."""
    ids = [invoice.subscription_id for invoice in invoices if invoice.subscription_id]
    if ids:
        Subscription.objects.filter(
            pk__in=ids, status=Subscription.Status.INCOMPLETE
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
