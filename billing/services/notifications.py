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
from datetime import datetime
from typing import Any

from django.conf import settings

from billing.documents.links import hosted_invoice_url
from billing.models import Invoice
from core.money import format_minor
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
    """What the templates show, formatted here: a batch renders thousands of these,
    and plain strings render several times faster than template filters."""
    lines = invoice._prefetched_lines
    credits = sum(entry["amount"] for entry in invoice.total_pretax_credit_amounts)
    tax = sum(
        e["amount"] for e in invoice.total_taxes if e["tax_behavior"] != "inclusive"
    )
    due_date = invoice.due_date if invoice.amount_due else None
    return {
        "invoice": invoice,
        "lines": [
            (line.description, format_minor(line.amount, line.currency))
            for line in lines[:LINES_SHOWN]
        ],
        "more_lines": max(len(lines) - LINES_SHOWN, 0),
        "period": _period(invoice),
        "subtotal": _money(invoice, invoice.subtotal),
        "credits": _money(invoice, -credits) if credits else "",
        "tax": _money(invoice, tax) if tax else "",
        "reverse_charge": invoice.reverse_charge,
        "total": _money(invoice, invoice.total),
        "balance": _money(invoice, invoice.starting_balance)
        if invoice.starting_balance
        else "",
        "amount_due": _money(invoice, invoice.amount_due),
        "paid": invoice.amount_due == 0,
        "due": _day(due_date) if due_date else "",
        "issued": _day(invoice.finalized_at),
        "hosted_url": hosted_invoice_url(invoice),
    }


def _money(invoice: Invoice, amount: int) -> str:
    return format_minor(amount, invoice.currency)


def _day(moment: datetime) -> str:
    """``Apr 1, 2026`` (UTC), as the ``date:"M j, Y"`` filter shows it."""
    return f"{moment:%b} {moment.day}, {moment.year}"


def _period(invoice: Invoice) -> str:
    """The billing period, ``Apr 1, 2026 – May 1, 2026``; empty for a one-off."""
    if invoice.period_start == invoice.period_end:
        return ""
    return f"{_day(invoice.period_start)} – {_day(invoice.period_end)}"
