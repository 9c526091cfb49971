"""Draw an ``InvoiceDocument`` as a PDF (fpdf2, pure Python).

The fonts are DejaVu Sans, shipped in ``fonts/`` (free license, see its
LICENSE): they cover €, £, ¥ and accented names, which PDF core fonts do not.
Only the glyphs used are embedded. The output is deterministic: the same
document renders the same bytes (the creation date is the document's own).
Long invoices flow over pages; the lines table repeats its heading and every
page ends with the number and "Page n of N".
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from billing.descriptions import format_period, format_units
from billing.documents.document import DocumentLine, InvoiceDocument, Party
from core.money import format_minor

FONTS = Path(__file__).resolve().parent / "fonts"
FAMILY = "DejaVu"
MARGIN = 16  # mm
GREY = (105, 105, 105)
INK = (26, 26, 26)
SMALL = FontFace(size_pt=7.5, color=GREY)
HEADING = FontFace(emphasis="BOLD", size_pt=8.5, color=GREY)
# Description, quantity, unit price, amount (shares of the text width).
COLUMNS = (58, 12, 15, 15)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# fontTools narrates every font subset at INFO.
logging.getLogger("fontTools").setLevel(logging.WARNING)


class _Sheet(FPDF):
    """A4 pages with the document's footer on each."""

    def __init__(self, document: InvoiceDocument) -> None:
        super().__init__(format="A4", unit="mm")
        self.document = document
        self.add_font(FAMILY, "", FONTS / "DejaVuSans.ttf")
        self.add_font(FAMILY, "B", FONTS / "DejaVuSans-Bold.ttf")
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN + 6)
        self.set_creation_date(document.issued_at or _EPOCH)
        self.set_title(f"{document.title} {document.number}")
        self.set_author(document.seller.name)
        self.set_creator("Tally")
        self.set_text_color(*INK)

    def footer(self) -> None:
        doc = self.document
        self.set_xy(MARGIN, -MARGIN)
        self.set_font(FAMILY, size=7.5)
        self.set_text_color(*GREY)
        due = format_minor(doc.amount_due, doc.currency)
        self.cell(0, 4, f"{doc.title} {doc.number} · {doc.amount_due_label} {due}")
        self.set_x(MARGIN)
        self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(*INK)


def _money(amount: int | Decimal, currency: str) -> str:
    return format_minor(amount, currency)


def _party_text(party: Party) -> str:
    rows = [*party.address, party.email, *party.tax_ids]
    return "\n".join(row for row in rows if row)


def _heading(pdf: _Sheet, doc: InvoiceDocument) -> None:
    pdf.set_font(FAMILY, "B", 20)
    pdf.cell(0, 10, doc.title)
    pdf.set_x(MARGIN)
    pdf.set_font(FAMILY, "B", 11)
    pdf.cell(0, 10, doc.seller.name, align="R", new_x="LMARGIN", new_y="NEXT")
    if not doc.livemode:
        pdf.set_font(FAMILY, "B", 8)
        pdf.set_text_color(180, 90, 0)
        pdf.cell(0, 4, "TEST MODE", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*INK)
    pdf.ln(2)
    facts = [(f"{doc.title} number", doc.number), *doc.dates]
    for label, value in facts:
        pdf.set_font(FAMILY, size=9)
        pdf.set_text_color(*GREY)
        pdf.cell(34, 5, label)
        pdf.set_text_color(*INK)
        pdf.cell(0, 5, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _parties(pdf: _Sheet, doc: InvoiceDocument) -> None:
    half = pdf.epw / 2
    top = pdf.get_y()
    for index, (title, party) in enumerate(
        (("From", doc.seller), ("Bill to", doc.buyer))
    ):
        pdf.set_xy(MARGIN + index * half, top)
        pdf.set_font(FAMILY, "B", 9)
        pdf.cell(half - 4, 5, f"{title}: {party.name}", new_x="LEFT", new_y="NEXT")
        pdf.set_font(FAMILY, size=9)
        pdf.multi_cell(half - 4, 4.5, _party_text(party), new_x="LEFT", new_y="NEXT")
    pdf.set_xy(MARGIN, max(pdf.get_y(), top + 20) + 4)


def _amount_due(pdf: _Sheet, doc: InvoiceDocument) -> None:
    pdf.set_font(FAMILY, "B", 14)
    pdf.cell(0, 8, doc.headline(), new_x="LMARGIN", new_y="NEXT")
    if doc.memo:
        pdf.set_font(FAMILY, size=9)
        pdf.multi_cell(0, 4.5, doc.memo, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def _usage_text(line: DocumentLine) -> str:
    usage = line.usage
    period = format_period(usage.period_start, usage.period_end)
    rows = [f"{usage.meter} · {period} · {format_units(usage.quantity)} {usage.unit}"]
    return "\n".join([*rows, *usage.breakdown])


def _line_rows(table, line: DocumentLine, currency: str) -> None:
    quantity = format_units(line.quantity) if line.quantity is not None else ""
    unit = _money(line.unit_amount, currency) if line.unit_amount is not None else ""
    table.row([line.description, quantity, unit, _money(line.amount, currency)])
    if line.usage is not None:
        row = table.row(style=SMALL)
        row.cell(_usage_text(line), colspan=4)
    for adjustment in line.adjustments:
        row = table.row(style=SMALL)
        row.cell(adjustment.label, colspan=3)
        row.cell(_money(adjustment.amount, currency))


def _lines(pdf: _Sheet, doc: InvoiceDocument) -> None:
    pdf.set_font(FAMILY, size=9)
    with pdf.table(
        col_widths=COLUMNS,
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        borders_layout="SINGLE_TOP_LINE",
        headings_style=HEADING,
        line_height=4.6,
        padding=(0.8, 1),
        v_align="TOP",
    ) as table:
        table.row(["Description", "Qty", "Unit price", "Amount"])
        for line in doc.lines:
            _line_rows(table, line, doc.currency)
    pdf.ln(4)


def _totals(pdf: _Sheet, doc: InvoiceDocument) -> None:
    pdf.set_font(FAMILY, size=9)
    block = doc.totals_block()
    if pdf.will_page_break(len(block) * 6.2):
        pdf.add_page()  # the totals stay together
    bold = FontFace(emphasis="BOLD")
    with pdf.table(
        width=pdf.epw * 0.5,
        align="RIGHT",
        col_widths=(3, 2),
        text_align=("LEFT", "RIGHT"),
        borders_layout="NONE",
        first_row_as_headings=False,
        line_height=5,
        padding=(0.6, 1),
    ) as table:
        for label, amount, emphasised in block:
            table.row(
                [label, _money(amount, doc.currency)], bold if emphasised else None
            )
    pdf.ln(4)


def _closing(pdf: _Sheet, doc: InvoiceDocument) -> None:
    pdf.set_font(FAMILY, size=8.5)
    for text in (*doc.notes, doc.payment_instructions, doc.footer):
        if text:
            pdf.multi_cell(0, 4.5, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
    pdf.set_text_color(*GREY)
    pdf.set_font(FAMILY, size=7)
    pdf.cell(0, 4, doc.reference, new_x="LMARGIN", new_y="NEXT")


def document_pdf(document: InvoiceDocument) -> bytes:
    """Render the document as PDF bytes (the same bytes for the same document)."""
    pdf = _Sheet(document)
    pdf.add_page()
    _heading(pdf, document)
    _parties(pdf, document)
    _amount_due(pdf, document)
    _lines(pdf, document)
    _totals(pdf, document)
    _closing(pdf, document)
    return bytes(pdf.output())
