"""The PDFs of finalized invoices and credit notes, rendered on first request and
kept on disk.

A finalized invoice's amounts are frozen and the same invoice renders the same
bytes every time, so the file is a cache, not a record: a host that lacks it (a
restart on a fresh disk, another web server) renders it again, identical. It is
written to a temporary name and moved into place, so two first requests at once
both leave one whole file. The one printed figure that still moves is the amount
due, which credit notes lower, so it names the file:
``TALLY_DOCUMENTS_DIR/invoices/<livemode>/<id>-<amount_due>.pdf``. A credit note
changes once at most (voided), so its file is named by its status:
``credit_notes/<livemode>/<id>-<status>.pdf``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.conf import settings

from billing.documents.credit_notes import credit_note_document
from billing.documents.selectors import invoice_document
from billing.models import CreditNote, Invoice
from core.errors import InvalidState


def _mode(livemode: bool) -> str:
    return "live" if livemode else "test"


def invoice_pdf_path(invoice: Invoice) -> Path:
    folder = Path(settings.TALLY_DOCUMENTS_DIR) / "invoices" / _mode(invoice.livemode)
    return folder / f"{invoice.pk}-{invoice.amount_due}.pdf"


def credit_note_pdf_file(note: CreditNote) -> Path:
    name = f"{note.pk}-{note.status}.pdf"
    folder = Path(settings.TALLY_DOCUMENTS_DIR) / "credit_notes" / _mode(note.livemode)
    return folder / name


def _write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def document_pdf(document) -> bytes:
    # fpdf2 is imported on first use: at import it builds its Unicode tables
    # (~0.26 s), which every web, worker and command process would pay at startup.
    from billing.documents.pdf import document_pdf as draw

    return draw(document)


def invoice_pdf_render(*, invoice: Invoice) -> bytes:
    """Render the invoice's PDF afresh (no cache)."""
    if invoice.is_draft:
        raise InvalidState("A draft invoice has no PDF until it is finalized.")
    return document_pdf(invoice_document(invoice=invoice))


def _kept(path: Path, render) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    content = render()
    _write_atomically(path, content)
    return content


def invoice_pdf_bytes(*, invoice: Invoice) -> bytes:
    """The finalized invoice's PDF: from disk, or rendered and kept there."""
    return _kept(invoice_pdf_path(invoice), lambda: invoice_pdf_render(invoice=invoice))


def credit_note_pdf_render(*, note: CreditNote) -> bytes:
    """Render the credit note's PDF afresh (no cache)."""
    return document_pdf(credit_note_document(note=note))


def credit_note_pdf_bytes(*, note: CreditNote) -> bytes:
    """The issued credit note's PDF: from disk, or rendered and kept there."""
    return _kept(credit_note_pdf_file(note), lambda: credit_note_pdf_render(note=note))
