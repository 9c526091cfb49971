"""Finalize: the pipeline's last step, which freezes a draft for good.

Usage re-rated with the usage known now (``rerate``), then the pipeline's steps
after ``rate`` (``billing.compose``): discount, commitment (a true-up line),
credits (posted to the ledger),
tax, the customer's balance, totals; then the number and the frozen snapshot.

Locking policy (every billing service follows it, so no two can deadlock):
subscription → invoice → customer → tax rates → credit grants → invoice number
sequence, each ``select_for_update`` in that order, many rows of one table in
primary-key order (a tax rate's row is locked only by its first finalization and
by edits, ``billing.taxes.rates``). The customer row (or, with account-level
numbering, the mode's number sequence, locked last so that the one row every
finalization shares is held the shortest) serialises invoice numbers: they are
sequential with no gaps, even with concurrent finalizations
(``billing.services.numbering``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import transaction

from billing.compose.balance import apply_balance
from billing.compose.collect import UsageReader
from billing.compose.discount_rows import invoices_discounts_collect
from billing.compose.pipeline import compose
from billing.compose.tax import tax
from billing.compose.totals import totals
from billing.models import Invoice, Subscription
from billing.services import credits
from billing.services.commitment_step import invoice_commitment_step
from billing.services.discount_step import (
    invoice_discount_step,
    invoice_discounts_of,
    once_discounts_spend,
)
from billing.services.events import EventBatch
from billing.services.notifications import invoices_finalized_notify
from billing.services.numbering import InvoiceNumbering
from billing.services.persist import invoice_draft_of, invoice_totals_set
from billing.services.rerate import REPRICED_FIELDS, lines_by_invoice, usage_reprice
from billing.signals import invoices_finalized
from billing.taxes.invoices import TaxContext, tax_context_for, taxes_record
from core.bulk import bulk_save
from core.errors import InvalidState
from core.services.balance import BalanceMove, balance_move_locked

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
    "total_taxes",
    "customer_tax_exempt",
    "customer_tax_ids",
    "discounts",
    "total_discount_amounts",
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
    "hosted_token",
]


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
    taxes = tax_context_for(invoices=invoices, lines=lines, now=now)
    collected = invoices_discounts_collect(
        invoices,
        {
            invoice.pk: {
                line.invoice_item_id
                for line in lines[invoice.pk]
                if line.invoice_item_id
            }
            for invoice in invoices
        },
    )
    spent: set[str] = set()  # ``once`` discounts an earlier invoice of the chunk spent
    for invoice in invoices:
        invoice._discounts = collected[invoice.pk].without(spent)
        _price_and_freeze(invoice, lines[invoice.pk], now, with_credits, taxes)
        spent |= invoice._spent
    numbering = InvoiceNumbering.lock(invoices)
    for invoice in invoices:
        numbering.assign(invoice)
    numbering.save()
    _save(invoices, lines, changed)
    _announce(invoices, lines)


def _price_and_freeze(
    invoice, lines, now, with_credits: set[str], taxes: TaxContext
) -> None:
    """Credits, taxes, totals, the customer's balance, the frozen snapshot.

    Only customers in ``with_credits`` may have grants that apply.
    """
    draft = invoice_discount_step(
        invoice=invoice,
        lines=lines,
        draft=invoice_draft_of(invoice, lines, now=now, taxes=taxes),
    )
    invoice._spent = once_discounts_spend(
        invoice=invoice, draft=draft, found=invoice_discounts_of(invoice, lines)
    )
    draft = invoice_commitment_step(
        invoice=invoice, lines=lines, draft=draft, now=now, persist=True
    )
    draft = credits.invoice_credits_step(
        invoice=invoice,
        lines=lines,
        draft=draft,
        has_grants=invoice.customer_id in with_credits,
    )
    draft = compose(draft, steps=(tax, apply_balance, totals))
    invoice_totals_set(invoice, draft)
    taxes_record(invoice, lines, draft, taxes.tax_ids.get(invoice.customer_id, []))
    _take_balance(invoice, draft, now)
    _freeze(invoice, invoice.customer, now)


def _take_balance(invoice: Invoice, draft, now: datetime) -> None:
    """Post what the invoice took from the balance (or gave it) to the ledger.

    The customer's row is locked (see ``invoice_finalize``); a balance in another
    currency than the invoice's is not touched (``balance_for_invoice``).
    """
    customer = invoice.customer
    change = draft.ending_balance - draft.starting_balance
    if customer.currency and customer.currency != invoice.currency:
        invoice.ending_balance = invoice.starting_balance
        return
    balance_move_locked(
        customer=customer,
        move=BalanceMove(
            type="applied_to_invoice",
            amount=change,
            currency=invoice.currency,
            invoice=invoice.pk,
        ),
        now=now,
    )


def _save(invoices, lines, changed) -> None:
    """Customers, then lines, then invoices: lines freeze with their invoice."""
    customers = {invoice.customer_id: invoice.customer for invoice in invoices}
    bulk_save(list(customers.values()), ["next_invoice_sequence", "balance"])
    bulk_save(changed, REPRICED_FIELDS)
    credited = [
        line
        for invoice in invoices
        for line in lines[invoice.pk]
        if line.pretax_credit_amounts
    ]
    bulk_save(credited, ["pretax_credit_amounts"])
    taxed = [line for invoice in invoices for line in lines[invoice.pk] if line.taxes]
    bulk_save(taxed, ["taxes"])
    discounted = [
        line
        for invoice in invoices
        for line in lines[invoice.pk]
        if line.discount_amounts
    ]
    bulk_save(discounted, ["discount_amounts"])
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
    unpaid = [invoice for invoice in invoices if invoice.status == "open"]
    if unpaid:
        invoices_finalized.send(
            sender=Invoice,
            invoice_ids=[invoice.pk for invoice in unpaid],
            invoices=unpaid,
        )
    invoices_finalized_notify(invoices=invoices)


def _activate_subscriptions(invoices: Sequence[Invoice]) -> None:
    """An incomplete subscription becomes active once its first invoice is paid."""
    ids = [invoice.subscription_id for invoice in invoices if invoice.subscription_id]
    if ids:
        Subscription.objects.filter(
            pk__in=ids, status=Subscription.Status.INCOMPLETE
        ).update(status=Subscription.Status.ACTIVE, incomplete_expires_at=None)


def _freeze(invoice: Invoice, customer, now: datetime) -> None:
    invoice.status = Invoice.Status.OPEN
    invoice.finalized_at = invoice.effective_at = now
    invoice.finalize_at = None
    invoice.customer_name = customer.name
    invoice.customer_email = customer.email
    invoice.customer_address = customer.address
    invoice.hosted_token = secrets.token_urlsafe(32)
    if (
        invoice.collection_method == Invoice.CollectionMethod.SEND_INVOICE
        and invoice.due_date is None
    ):
        invoice.due_date = now + timedelta(days=invoice.days_until_due or 30)
    if invoice.amount_due == 0:
        invoice.status = Invoice.Status.PAID
        invoice.paid_at = now
        invoice.auto_advance = False
