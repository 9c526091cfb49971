"""The "invoice finalized" email to the customer (issue #7).

Every invoice finalized — through the API, the dashboard, a subscription change or
the Beat job — is emailed to its customer, if the customer has an email address
and ``TALLY_EMAIL_INVOICE_FINALIZED`` is on. The message is rendered and put in
the outbox inside the finalizing transaction, so it leaves once and only if the
finalization commits; a batch of finalizations queues its messages with one
insert and one send task.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings

from billing.models import Invoice
from core.notifications import Email, send_emails_on_commit

TEMPLATE = "billing/email/invoice_finalized"
# Lines listed in the email; a longer invoice ends with "… and N more lines".
LINES_SHOWN = 20


def invoices_finalized_notify(*, invoices: Sequence[Invoice]) -> int:
    """Queue the email of each just-finalized invoice; returns how many."""
    if not settings.TALLY_EMAIL_INVOICE_FINALIZED:
        return 0
    emails = [
        Email(to=[invoice.customer_email], template=TEMPLATE, context=_context(invoice))
        for invoice in invoices
        if invoice.customer_email
    ]
    return len(send_emails_on_commit(emails=emails))


def _context(invoice: Invoice) -> dict[str, Any]:
    lines = invoice._prefetched_lines
    return {
        "invoice": invoice,
        "lines": lines[:LINES_SHOWN],
        "more_lines": max(len(lines) - LINES_SHOWN, 0),
        "credits": invoice.subtotal - invoice.total,
        "show_period": invoice.period_start != invoice.period_end,
    }
