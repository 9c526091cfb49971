"""The PDF of a finalized invoice, rendered on first request and kept on disk.

A finalized invoice never changes and renders the same bytes every time, so the
file is a cache, not a record: a host that lacks it (a restart on a fresh disk,
another web server) renders it again, identical. It is written to a temporary
name and moved into place, so two first requests at once both leave one whole
file. Files live under ``TALLY_DOCUMENTS_DIR/invoices/<livemode>/<id>.pdf``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.conf import settings

from billing.documents.pdf import document_pdf
from billing.documents.selectors import invoice_document
from billing.models import Invoice
from core.errors import InvalidState


def invoice_pdf_path(invoice: Invoice) -> Path:
    mode = "live" if invoice.livemode else "test"
    return Path(settings.TALLY_DOCUMENTS_DIR) / "invoices" / mode / f"{invoice.pk}.pdf"


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


def invoice_pdf_render(*, invoice: Invoice) -> bytes:
    """Render the invoice's PDF afresh (no cache)."""
    if invoice.is_draft:
        raise InvalidState("A draft invoice has no PDF until it is finalized.")
    return document_pdf(invoice_document(invoice=invoice))


def invoice_pdf_bytes(*, invoice: Invoice) -> bytes:
    """The finalized invoice's PDF: from disk, or rendered and kept there."""
    path = invoice_pdf_path(invoice)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    content = invoice_pdf_render(invoice=invoice)
    _write_atomically(path, content)
    return content
