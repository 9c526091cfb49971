"""The document of an issued credit note: the invoice's layout, the note's rows.

A credit note prints as its invoice does (``InvoiceDocument``, drawn by the same
PDF code): seller, the customer as billed on the invoice, the credited lines with
what their discounts, pretax credits and taxes were, the totals in Stripe's order,
and then where the credit went: off the invoice's amount due, to the customer's
balance, refunded, or credited outside Tally. Amounts are integers in minor units.
"""

from __future__ import annotations

from collections.abc import Mapping

from billing.descriptions import format_date
from billing.documents import rows
from billing.documents.document import AmountRow, DocumentLine, InvoiceDocument
from billing.documents.parties import buyer, seller
from billing.models import CreditNote, CreditNoteLineItem

# Where a credit note's amount goes (its fields), as printed.
DESTINATIONS = (
    ("pre_payment_amount", "Applied to invoice"),
    ("credit_amount", "Credited to customer balance"),
    ("refund_amount", "Refunded"),
    ("out_of_band_amount", "Credited outside Tally"),
)


def credit_note_dates(note: CreditNote) -> tuple[tuple[str, str], ...]:
    """Issued, the invoice it corrects, and why, as printed."""
    invoice = note.invoice
    dates = [("Date of issue", format_date(note.effective_at))]
    dates.append(("Invoice", invoice.number or invoice.pk))
    if invoice.finalized_at:
        dates.append(("Invoice date", format_date(invoice.finalized_at)))
    if note.reason:
        dates.append(("Reason", note.reason.replace("_", " ").capitalize()))
    return tuple(dates)


def destination_rows(note: CreditNote) -> list[AmountRow]:
    """What went where; together they make the note's total."""
    return [
        AmountRow(label, getattr(note, field))
        for field, label in DESTINATIONS
        if getattr(note, field)
    ]


def _void_notes(note: CreditNote) -> list[str]:
    if note.status != CreditNote.Status.VOID:
        return []
    return [
        f"Void: this credit note was voided on {format_date(note.voided_at)} "
        "and no longer credits anything."
    ]


def credit_note_document_line(
    line: CreditNoteLineItem,
    *,
    currency: str,
    names: Mapping[str, str],
    tax_names: Mapping[str, str],
    labels: Mapping[str, str],
) -> DocumentLine:
    """One credited line, with its share of discounts, credits and taxes
    (``names``, ``tax_names``, ``labels``: grants, rates, discounts as printed)."""
    described = line.description
    credited = line.invoice_line_item
    if not described and credited is not None:
        # As the invoice printed it: its description, else its product.
        product = credited.price.product.name if credited.price_id else ""
        described = credited.description or product
    return DocumentLine(
        description=described or "Credit",
        amount=line.amount,
        quantity=line.quantity,
        unit_amount=line.unit_amount_decimal,
        adjustments=rows.line_adjustments(line, names, tax_names, labels, currency),
    )


def credit_note_document(*, note: CreditNote) -> InvoiceDocument:
    """Everything an issued credit note's PDF prints, in at most five reads (lines,
    grant names, tax rates, discounts; the invoice when not loaded)."""
    invoice = note.invoice
    lines = list(
        note.lines.select_related("invoice_line_item__price__product").order_by(
            "position"
        )
    )
    names = rows.grant_names(
        entry for line in lines for entry in line.pretax_credit_amounts
    )
    tax_names = rows.tax_rate_names(note.total_taxes or ())
    labels = rows.discount_labels(note.discount_amounts or ())
    return InvoiceDocument(
        title="Credit note",
        number=note.number,
        reference=note.pk,
        currency=note.currency,
        livemode=note.livemode,
        seller=seller(),
        buyer=buyer(invoice),
        dates=credit_note_dates(note),
        issued_at=note.created,
        lines=tuple(
            credit_note_document_line(
                line,
                currency=note.currency,
                names=names,
                tax_names=tax_names,
                labels=labels,
            )
            for line in lines
        ),
        subtotal=note.subtotal,
        total=note.total,
        amount_due=note.total,
        amount_due_label="Amount credited",
        discounts=tuple(rows.discount_rows(note.discount_amounts, labels)),
        credits=tuple(rows.credit_rows(note.pretax_credit_amounts, names)),
        taxes=tuple(rows.tax_rows(note.total_taxes, note.currency, tax_names)),
        total_excluding_tax=note.total_excluding_tax,
        balance=tuple(destination_rows(note)),
        memo=note.memo or "",
        notes=(*_void_notes(note), *rows.reverse_charge_notes(invoice)),
    )
