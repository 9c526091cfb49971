"""Credit notes and their lines, in Stripe's shapes.

The documents renderer reads the same model fields: ``number``, ``lines`` (in
``position`` order), ``subtotal``, ``discount_amount``, ``total_taxes``,
``total``, ``reason``, ``memo``, ``effective_at``; see ``credit_note_lines``.
``pdf`` is the public link of the note's PDF (``billing.documents.links``).
"""

from __future__ import annotations

from typing import Any

from billing.api.render.parts import ts
from billing.documents.links import credit_note_pdf_url
from core.api.fields import decimal_string

LINES_SHOWN = 10


def credit_note_lines(note) -> list:
    """The note's lines in order (prefetched on a new or previewed note)."""
    lines = getattr(note, "_prefetched_lines", None)
    if lines is None:
        lines = list(note.lines.order_by("position"))
    return lines


def credit_note_line(line) -> dict[str, Any]:
    return {
        "id": line.pk,
        "object": "credit_note_line_item",
        "amount": line.amount,
        "description": line.description,
        "discount_amount": line.discount_amount,
        "discount_amounts": list(line.discount_amounts),
        "invoice_line_item": line.invoice_line_item_id,
        "livemode": line.livemode,
        "metadata": dict(line.metadata),
        "pretax_credit_amounts": list(line.pretax_credit_amounts),
        "quantity": line.quantity,
        "tax_rates": list(line.tax_rates),
        "taxes": list(line.taxes),
        "type": line.type,
        "unit_amount": line.unit_amount,
        "unit_amount_decimal": decimal_string(line.unit_amount_decimal),
    }


def credit_note(note, *, lines_url: str | None = None) -> dict[str, Any]:
    lines = credit_note_lines(note)
    shown = lines[:LINES_SHOWN]
    return {
        "id": note.pk,
        "object": "credit_note",
        "amount": note.amount,
        "amount_shipping": 0,
        "created": ts(note.created),
        "currency": note.currency,
        "customer": note.customer_id,
        "customer_account": None,
        "customer_balance_transaction": note.customer_balance_transaction,
        "discount_amount": note.discount_amount,
        "discount_amounts": list(note.discount_amounts),
        "effective_at": ts(note.effective_at),
        "invoice": note.invoice_id,
        "lines": {
            "object": "list",
            "data": [credit_note_line(line) for line in shown],
            "has_more": len(lines) > len(shown),
            "total_count": len(lines),
            "url": lines_url or f"/v1/credit_notes/{note.pk}/lines",
        },
        "livemode": note.livemode,
        "memo": note.memo,
        "metadata": dict(note.metadata),
        "number": note.number,
        "out_of_band_amount": note.out_of_band_amount,
        "pdf": credit_note_pdf_url(note),
        "post_payment_amount": note.post_payment_amount,
        "pre_payment_amount": note.pre_payment_amount,
        "pretax_credit_amounts": list(note.pretax_credit_amounts),
        "reason": note.reason,
        "refunds": list(note.refunds or ()),
        "shipping_cost": None,
        "status": note.status,
        "subtotal": note.subtotal,
        "subtotal_excluding_tax": note.subtotal_excluding_tax,
        "total": note.total,
        "total_excluding_tax": note.total_excluding_tax,
        "total_taxes": list(note.total_taxes),
        "type": note.type,
        "voided_at": ts(note.voided_at),
    }
