"""The one selector behind every invoice document: PDF and hosted page alike."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from django.conf import settings

from billing.descriptions import format_date, format_period
from billing.documents import rows
from billing.documents.document import DocumentLine, InvoiceDocument
from billing.documents.parties import buyer, seller
from billing.documents.usage import billed_before, usage_detail
from billing.models import Invoice, InvoiceLineItem
from billing.taxes.invoices import amounts_excluding_tax


def invoice_document_lines(invoice: Invoice) -> list[InvoiceLineItem]:
    """The invoice's lines with what a document prints of their prices, in order."""
    return list(
        invoice.lines.select_related(
            "price__product", "price__recurring_meter"
        ).order_by("position")
    )


def invoice_dates(invoice: Invoice) -> tuple[tuple[str, str], ...]:
    """Issued, due and the billing period, as printed."""
    issued = invoice.finalized_at or invoice.created
    dates = [("Date of issue", format_date(issued))]
    if invoice.due_date:
        dates.append(("Date due", format_date(invoice.due_date)))
    if invoice.period_start != invoice.period_end:
        period = format_period(invoice.period_start, invoice.period_end)
        dates.append(("Billing period", period))
    return tuple(dates)


def _amount_due_label(invoice: Invoice) -> str:
    # Only frozen fields: the document of a finalized invoice never changes.
    if invoice.due_date and invoice.amount_due:
        return f"Amount due by {format_date(invoice.due_date)}"
    return "Amount due"


def _payment_instructions(invoice: Invoice) -> str:
    """How to pay (``TALLY_SELLER``), when something is due. Tally collects no
    payments itself yet, so every invoice is paid as the seller instructs."""
    if invoice.amount_due == 0:
        return ""
    return settings.TALLY_SELLER["payment_instructions"]


def document_line(
    line: InvoiceLineItem,
    *,
    already: Decimal | None,
    names: Mapping[str, str],
    tax_names: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> DocumentLine:
    """One line as printed; ``already``: usage earlier lines billed for its period,
    ``names``: grant names by credit balance transaction, ``tax_names``: tax rates
    as printed by id, ``labels``: discounts as printed by id."""
    # A line without a description prints its product, as Stripe's documents.
    product = line.price.product.name if line.price_id else ""
    return DocumentLine(
        description=line.description or product,
        amount=line.amount,
        quantity=line.quantity,
        unit_amount=line.unit_amount_decimal,
        period_start=line.period_start,
        period_end=line.period_end,
        usage=usage_detail(line, already=already),
        adjustments=rows.line_adjustments(line, names, tax_names or {}, labels),
    )


def invoice_document(*, invoice: Invoice) -> InvoiceDocument:
    """Everything a finalized invoice's PDF and hosted page print, in at most five
    reads (lines, usage billed before, grant names, tax rates, discounts)."""
    lines = invoice_document_lines(invoice)
    already = billed_before(lines)
    names = rows.grant_names(
        entry for line in lines for entry in line.pretax_credit_amounts
    )
    tax_names = rows.tax_rate_names(invoice.total_taxes or ())
    # Every line's discount is one of the invoice's (its total sums them).
    labels = rows.discount_labels(invoice.total_discount_amounts or ())
    return InvoiceDocument(
        title="Invoice",
        number=invoice.number or "",
        reference=invoice.pk,
        currency=invoice.currency,
        livemode=invoice.livemode,
        seller=seller(),
        buyer=buyer(invoice),
        dates=invoice_dates(invoice),
        issued_at=invoice.finalized_at,
        lines=tuple(
            document_line(
                line,
                already=already.get(line.pk),
                names=names,
                tax_names=tax_names,
                labels=labels,
            )
            for line in lines
        ),
        subtotal=invoice.subtotal,
        total=invoice.total,
        amount_due=invoice.amount_due,
        amount_due_label=_amount_due_label(invoice),
        discounts=tuple(rows.invoice_discount_rows(invoice, labels)),
        credits=tuple(rows.invoice_credit_rows(invoice, names)),
        taxes=tuple(rows.invoice_tax_rows(invoice, tax_names)),
        total_excluding_tax=amounts_excluding_tax(invoice)[1],
        balance=tuple(rows.balance_rows(invoice)),
        memo=invoice.description or "",
        footer=invoice.footer or "",
        payment_instructions=_payment_instructions(invoice),
        notes=(*rows.reverse_charge_notes(invoice), *rows.balance_notes(invoice)),
    )
