"""Issue, preview, edit and void credit notes.

Locking policy (``billing.services.finalize``'s): subscription → invoice →
customer. Every write here locks the invoice first and reads what earlier credit
notes took under that lock, so two credit notes racing on one invoice are
computed one after the other and can never credit more than its total (the
database checks that too: ``invoice_credit_notes_within_total``).
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max

from billing.collection import credit_note_refund
from billing.models import (
    CreditNote,
    CreditNoteLineItem,
    Invoice,
    InvoiceLineItem,
    Subscription,
)
from billing.services.credit_notes.amounts import (
    AMOUNT,
    QUANTITY,
    CreditNoteDraft,
    InvoiceView,
    LineView,
    credit_note_draft,
)
from billing.services.events import before, emit, emit_updated
from billing.services.settlement import subscription_settle_paid as subscription_settle
from core.errors import InvalidState
from core.ids import new_id
from core.metadata import metadata_merge
from core.services.balance import (
    BalanceMove,
    balance_currency_check,
    balance_move_locked,
    customer_lock,
)
from core.services.events import event_emit_updated, snapshot

Type = CreditNote.Type


def invoice_lock(invoice: Invoice) -> Invoice:
    """Lock the invoice, after its subscription (the locking order)."""
    if invoice.subscription_id is not None:
        Subscription.objects.select_for_update().filter(
            pk=invoice.subscription_id
        ).first()
    return (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(pk=invoice.pk)
    )


# ---- reading the invoice ----------------------------------------------------------


def _line_view(line: InvoiceLineItem, credited: dict) -> LineView:
    """The line as credit notes see it.

    Discounts and taxes are read from the line's Stripe-shaped lists
    (``discount_amounts``, ``taxes``) when the line has them; until those
    features exist a line has none, and none are credited.
    """
    return LineView(
        id=line.pk,
        amount=line.amount,
        quantity=line.quantity,
        description=line.description,
        discount_amounts=tuple(getattr(line, "discount_amounts", None) or ()),
        pretax_credit_amounts=tuple(line.pretax_credit_amounts or ()),
        taxes=tuple(getattr(line, "taxes", None) or ()),
        credited_amount=credited.get("amount", 0),
        credited_quantity=credited.get("quantity", 0),
        credited_by=credited.get("by"),
    )


def invoice_view(invoice: Invoice) -> InvoiceView:
    """The invoice, its lines and what its issued credit notes took (3 queries)."""
    issued = CreditNote.objects.filter(invoice=invoice, status=CreditNote.Status.ISSUED)
    totals = list(issued.values_list("amount", "refund_amount"))
    credited: dict[str, dict] = defaultdict(dict)
    rows = CreditNoteLineItem.objects.filter(
        credit_note__in=issued, invoice_line_item__isnull=False
    ).values_list("invoice_line_item_id", "amount", "quantity")
    for line_id, amount, quantity in rows:
        entry = credited[line_id]
        entry["amount"] = entry.get("amount", 0) + amount
        entry["quantity"] = entry.get("quantity", 0) + (quantity or 0)
        entry["by"] = QUANTITY if quantity is not None else AMOUNT
    lines = invoice.lines.order_by("position")
    return InvoiceView(
        id=invoice.pk,
        status=invoice.status,
        currency=invoice.currency,
        total=invoice.total,
        amount_paid=invoice.amount_paid,
        amount_remaining=invoice.amount_remaining,
        credited=sum(amount for amount, _ in totals),
        refunded=sum(refund for _, refund in totals),
        lines={line.pk: _line_view(line, credited[line.pk]) for line in lines},
    )


# ---- building the rows ------------------------------------------------------------


def _unsaved(
    invoice: Invoice, draft: CreditNoteDraft, params: dict[str, Any], now: datetime
) -> tuple[CreditNote, list[CreditNoteLineItem]]:
    note = CreditNote(
        invoice=invoice,
        customer_id=invoice.customer_id,
        sequence=0,
        number="",
        currency=invoice.currency,
        type=draft.type,
        reason=params.get("reason"),
        memo=params.get("memo"),
        amount=draft.total,
        subtotal=draft.subtotal,
        subtotal_excluding_tax=draft.subtotal_excluding_tax,
        total=draft.total,
        total_excluding_tax=draft.total_excluding_tax,
        discount_amount=draft.discount_amount,
        discount_amounts=list(draft.discount_amounts),
        pretax_credit_amounts=list(draft.pretax_credit_amounts),
        total_taxes=list(draft.total_taxes),
        pre_payment_amount=draft.pre_payment_amount,
        post_payment_amount=draft.post_payment_amount,
        credit_amount=draft.credit_amount,
        refund_amount=draft.refund_amount,
        out_of_band_amount=draft.out_of_band_amount,
        effective_at=params.get("effective_at") or now,
        metadata=metadata_merge({}, params.get("metadata") or {}),
        created=now,
        livemode=invoice.livemode,
    )
    lines = [
        CreditNoteLineItem(
            id=new_id("cnli"),
            credit_note=note,
            position=position,
            type=line.type,
            invoice_line_item_id=line.invoice_line_item,
            description=line.description,
            amount=line.amount,
            discount_amount=line.discount_amount,
            discount_amounts=list(line.discount_amounts),
            pretax_credit_amounts=list(line.pretax_credit_amounts),
            taxes=list(line.taxes),
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            unit_amount_decimal=line.unit_amount_decimal,
            metadata=line.metadata,
            livemode=invoice.livemode,
        )
        for position, line in enumerate(draft.lines)
    ]
    note._prefetched_lines = lines
    return note, lines


def credit_note_preview(
    *,
    invoice: Invoice,
    params: dict[str, Any],
    now: datetime,
    post_payment_to: str | None = None,
):
    """The credit note ``params`` would make, unsaved (nothing is written)."""
    draft = credit_note_draft(
        invoice=invoice_view(invoice), params=params, post_payment_to=post_payment_to
    )
    note, _ = _unsaved(invoice, draft, params, now)
    note.id = new_id("cn")
    note.number = f"{invoice.number}-CN-{_next_sequence(invoice):02d}"
    return note


def _next_sequence(invoice: Invoice) -> int:
    last = CreditNote.objects.filter(invoice=invoice).aggregate(last=Max("sequence"))
    return (last["last"] or 0) + 1


# ---- the invoice's side -----------------------------------------------------------


def _invoice_credit(invoice: Invoice, note: CreditNote, sign: int, now) -> None:
    """Add (+1) or take back (-1) the note's amounts on its invoice."""
    was = before(invoice)
    pre = sign * note.pre_payment_amount
    invoice.pre_payment_credit_notes_amount += pre
    invoice.post_payment_credit_notes_amount += sign * note.post_payment_amount
    invoice.amount_due -= pre
    invoice.amount_remaining -= pre
    paid = (
        pre > 0
        and invoice.status == Invoice.Status.OPEN
        and invoice.amount_remaining == 0
    )
    if paid:  # as Stripe: credited down to nothing, the invoice is paid
        invoice.status = Invoice.Status.PAID
        invoice.paid_at = now
        invoice.auto_advance = False
    invoice.save(
        update_fields=[
            "pre_payment_credit_notes_amount",
            "post_payment_credit_notes_amount",
            "amount_due",
            "amount_remaining",
            "status",
            "paid_at",
            "auto_advance",
        ]
    )
    emit_updated("invoice.updated", invoice, was)
    if paid:
        emit("invoice.paid", invoice)
        subscription_settle(invoice)


def _customer_credit(
    invoice: Invoice, note: CreditNote, amount: int, now: datetime
) -> str | None:
    """Move the customer's balance by ``amount`` for ``note``; the row's id."""
    if not amount:
        return None
    customer = customer_lock(invoice.customer_id)
    was = snapshot(customer)
    entry = balance_move_locked(
        customer=customer,
        move=BalanceMove(
            type="credit_note",
            amount=amount,
            currency=invoice.currency,
            invoice=invoice.pk,
            credit_note=note.pk,
        ),
        now=now,
    )
    event_emit_updated(type="customer.updated", instance=customer, before=was)
    return entry.pk


# ---- writes -----------------------------------------------------------------------


def credit_note_create(
    *,
    invoice: Invoice,
    params: dict[str, Any],
    now: datetime,
    post_payment_to: str | None = None,
) -> CreditNote:
    """Issue a credit note on an open or paid invoice (``POST /v1/credit_notes``).

    ``post_payment_to``: see ``amounts.credit_note_draft`` (the dashboard).
    """
    with transaction.atomic():
        invoice = invoice_lock(invoice)
        draft = credit_note_draft(
            invoice=invoice_view(invoice),
            params=params,
            post_payment_to=post_payment_to,
        )
        if draft.credit_amount:
            balance_currency_check(
                invoice.customer, invoice.currency, param="credit_amount"
            )
        note, lines = _unsaved(invoice, draft, params, now)
        note.sequence = _next_sequence(invoice)
        note.number = f"{invoice.number}-CN-{note.sequence:02d}"
        note.hosted_token = secrets.token_urlsafe(32)  # its PDF link's credential
        note.save(force_insert=True)
        CreditNoteLineItem.objects.bulk_create(lines)
        _invoice_credit(invoice, note, +1, now)
        note.customer_balance_transaction = _customer_credit(
            invoice, note, -note.credit_amount, now
        )
        note.refunds = credit_note_refund(credit_note=note, invoice=invoice, now=now)
        if note.customer_balance_transaction or note.refunds:
            note.save(update_fields=["customer_balance_transaction", "refunds"])
        emit("credit_note.created", note)
    return note


@transaction.atomic
def credit_note_update(
    *, credit_note: CreditNote, params: dict[str, Any]
) -> CreditNote:
    """Edit a credit note's memo and metadata (its amounts never change)."""
    note = CreditNote.objects.select_for_update().get(pk=credit_note.pk)
    was = before(note)
    if "memo" in params:
        note.memo = params["memo"]
    if "metadata" in params:
        note.metadata = metadata_merge(note.metadata, params["metadata"])
    note.save(update_fields=["memo", "metadata"])
    emit_updated("credit_note.updated", note, was)
    return note


def _check_voidable(note: CreditNote, invoice: Invoice) -> None:
    if note.status == CreditNote.Status.VOID:
        raise InvalidState("This credit note is already void.")
    if note.refund_amount:
        raise InvalidState(
            "A credit note with a refund cannot be voided: the refund stays made."
        )
    if invoice.status not in (Invoice.Status.OPEN, Invoice.Status.PAID):
        raise InvalidState(
            f"Credit notes on a {invoice.status} invoice cannot be voided."
        )
    if note.pre_payment_amount and invoice.status != Invoice.Status.OPEN:
        raise InvalidState(
            "This credit note lowered what the invoice asked, and the invoice is "
            "now paid: it can no longer be voided."
        )


def credit_note_void(*, credit_note: CreditNote, now: datetime) -> CreditNote:
    """Void a credit note: the invoice and the customer balance get back what it
    credited."""
    with transaction.atomic():
        invoice = invoice_lock(credit_note.invoice)
        note = CreditNote.objects.select_for_update().get(pk=credit_note.pk)
        _check_voidable(note, invoice)
        note.status = CreditNote.Status.VOID
        note.voided_at = now
        note.save(update_fields=["status", "voided_at"])
        _invoice_credit(invoice, note, -1, now)
        _customer_credit(invoice, note, note.credit_amount, now)
        emit("credit_note.voided", note)
    return note
