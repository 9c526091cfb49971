"""The public links of a finalized invoice: the hosted page and its PDF.

Both carry the invoice's ``hosted_token`` (made at finalization), like Stripe's
public ``hosted_invoice_url`` and ``invoice_pdf``; drafts have neither. The base
is ``TALLY_PUBLIC_URL``, else the address the current request came to, else
this machine at ``$PORT`` (jobs and emails without a public URL set).
"""

from __future__ import annotations

import functools
import os

from django.conf import settings
from django.urls import get_script_prefix, reverse

from billing.models import Invoice
from core import context


def public_base_url() -> str:
    if settings.TALLY_PUBLIC_URL:
        return settings.TALLY_PUBLIC_URL
    return context.current().base_url or (
        f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
    )


# Tokens are URL-safe (``secrets.token_urlsafe``), so a path is its route's
# reversed pattern with the token in place: one ``reverse`` per route and script
# prefix, not two per invoice rendered (a period close renders thousands).
_SLOT = "token-slot"


@functools.lru_cache(maxsize=16)
def _route(name: str, script_prefix: str) -> tuple[str, str]:
    before, _, after = reverse(name, args=[_SLOT]).partition(_SLOT)
    return before, after


def _path(name: str, token: str) -> str:
    before, after = _route(name, get_script_prefix())
    return f"{before}{token}{after}"


def hosted_invoice_path(invoice: Invoice) -> str | None:
    if not invoice.hosted_token:
        return None
    return _path("hosted-invoice", invoice.hosted_token)


def invoice_pdf_path(invoice: Invoice) -> str | None:
    if not invoice.hosted_token:
        return None
    return _path("hosted-invoice-pdf", invoice.hosted_token)


def hosted_invoice_url(invoice: Invoice) -> str | None:
    path = hosted_invoice_path(invoice)
    return f"{public_base_url()}{path}" if path else None


def invoice_pdf_url(invoice: Invoice) -> str | None:
    path = invoice_pdf_path(invoice)
    return f"{public_base_url()}{path}" if path else None
