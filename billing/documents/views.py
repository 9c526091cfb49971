"""The public hosted invoice page and its PDF, behind the invoice's token.

Anyone with the link sees that one invoice, as Stripe's hosted pages: the token
(32 random bytes) is the credential, so a wrong one is a plain 404 that says
nothing about which invoices exist. Tokens work whatever the mode (the page is
no dashboard); each finds only its own invoice.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from billing.collection import hosted_pay_panel
from billing.documents.files import invoice_pdf_bytes
from billing.documents.links import invoice_pdf_path
from billing.documents.selectors import invoice_document
from billing.models import Invoice
from core import clock, modes

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
    if invoice is None or _expired(invoice):
        raise Http404("No such invoice.")
    return invoice


def _expired(invoice: Invoice) -> bool:
    """Past ``TALLY_HOSTED_INVOICE_DAYS`` after the due date (0: never)."""
    days = settings.TALLY_HOSTED_INVOICE_DAYS
    if not days:
        return False
    start = invoice.due_date or invoice.finalized_at
    return clock.now_for_customer(invoice.customer) > start + timedelta(days=days)


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
    response = render(
        request,
        "billing/hosted/invoice.html",
        {
            "invoice": invoice,
            "document": document,
            "pdf_url": invoice_pdf_path(invoice),
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
    disposition = "attachment" if request.GET.get("download") else "inline"
    name = f"Invoice-{invoice.number or invoice.pk}.pdf"
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'{disposition}; filename="{name}"'
    return _private(response)
