"""Models of the billing app: subscriptions, invoices, lines and invoice items."""

from billing.models.credit_notes import CreditNote, CreditNoteLineItem
from billing.models.invoices import Invoice, InvoiceItem, InvoiceLineItem
from billing.models.subscriptions import Subscription, SubscriptionItem

__all__ = [
    "CreditNote",
    "CreditNoteLineItem",
    "Invoice",
    "InvoiceItem",
    "InvoiceLineItem",
    "Subscription",
    "SubscriptionItem",
]
