"""The public hosted invoice page and its PDF, behind the invoice's token, and
each credit note's PDF, behind the note's own token.

Anyone with the link sees that one invoice (or credit note), as Stripe's hosted
pages: the token (32 random bytes) is the credential, so a wrong one is a plain
404 that says nothing about which documents exist. Tokens work whatever the mode
(the page is no dashboard); each finds only its own document. The hosted invoice
page lists the invoice's credit notes with their PDFs.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from billing.collection import hosted_pay_panel
from billing.documents.files import credit_note_pdf_bytes, invoice_pdf_bytes
from billing.documents.links import invoice_pdf_path
from billing.documents.selectors import invoice_document
from billing.models import CreditNote, Invoice
from core import clock, modes
from core.models import Customer

# What ``secrets.token_urlsafe`` makes; anything else is no token (and a NUL
# would not even reach PostgreSQL).
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def hosted_invoice_of(token: str) -> Invoice:
    """The finalized invoice behind a hosted link's token; else a plain 404."""
    if not _TOKEN.fullmatch(token):
        raise Http404("No such invoice.")
    with modes.scope(None):
        invoice = (
            Invoice.objects.select_related("customer")
            .exclude(status=Invoice.Status.DRAFT)
            .filter(hosted_token=token)
            .first()
        )
    if invoice is None or _expired(
        invoice.customer, invoice.due_date or invoice.finalized_at
    ):
        raise Http404("No such invoice.")
    return invoice


def _credit_note_of(token: str) -> CreditNote:
    if not _TOKEN.fullmatch(token):
        raise Http404("No such credit note.")
    with modes.scope(None):
        note = (
            CreditNote.objects.select_related("invoice", "customer")
            .filter(hosted_token=token)
            .first()
        )
    if note is None or _expired(note.customer, note.effective_at):
        raise Http404("No such credit note.")
    return note


def _expired(customer: Customer, start: datetime) -> bool:
    """Past ``TALLY_HOSTED_INVOICE_DAYS`` after ``start`` (an invoice's due date,
    else its finalization; a credit note's date): 0 is never."""
    days = settings.TALLY_HOSTED_INVOICE_DAYS
    if not days:
        return False
    return clock.now_for_customer(customer) > start + timedelta(days=days)


def _private(response: HttpResponse, *, referrer: str = "no-referrer") -> HttpResponse:
    # The link is the credential: keep it out of shared caches, referrers, indexes.
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = referrer
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def hosted_invoice_render(
    request, invoice: Invoice, *, pay_state: dict | None = None, status: int = 200
) -> HttpResponse:
    """The hosted page; ``pay_state`` goes to the pay form (``billing.collection``)."""
    with modes.scope(None):
        document = invoice_document(invoice=invoice)
        credit_notes = list(invoice.credit_notes.order_by("sequence"))
    response = render(
        request,
        "billing/hosted/invoice.html",
        {
            "invoice": invoice,
            "document": document,
            "pdf_url": invoice_pdf_path(invoice),
            "credit_notes": credit_notes,
            "pay_panel": hosted_pay_panel(
                request=request, invoice=invoice, state=pay_state
            ),
        },
        status=status,
    )
    # Same-origin: the pay form posts with its Origin, which Django's CSRF check
    # needs ("no-referrer" makes browsers send "Origin: null"); other sites still
    # never see the link.
    return _private(response, referrer="same-origin")


@require_safe
def hosted_invoice(request, token: str):
    """The invoice as a page, with its status, a link to the PDF, the pay form."""
    return hosted_invoice_render(request, hosted_invoice_of(token))


@require_safe
def hosted_invoice_pdf(request, token: str):
    """The invoice's PDF (``?download=1`` saves it rather than showing it)."""
    invoice = hosted_invoice_of(token)
    with modes.scope(None):
        content = invoice_pdf_bytes(invoice=invoice)
    return _pdf_response(request, content, f"Invoice-{invoice.number or invoice.pk}")


@require_safe
def hosted_credit_note_pdf(request, token: str):
    """A credit note's PDF (``?download=1`` saves it rather than showing it)."""
    note = _credit_note_of(token)
    with modes.scope(None):
        content = credit_note_pdf_bytes(note=note)
    return _pdf_response(request, content, f"CreditNote-{note.number}")


def _pdf_response(request, content: bytes, name: str) -> HttpResponse:
    disposition = "attachment" if request.GET.get("download") else "inline"
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'{disposition}; filename="{name}.pdf"'
    return _private(response)
