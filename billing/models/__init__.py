"""Models of the billing app: subscriptions, invoices, lines and invoice items."""

from billing.models.commitments import Commitment
from billing.models.credit_notes import CreditNote, CreditNoteLineItem
from billing.models.discounts import Coupon, Discount, PromotionCode
from billing.models.invoices import Invoice, InvoiceItem, InvoiceLineItem
from billing.models.numbering import InvoiceNumberSequence
from billing.models.rate_cards import RateCardMigration, RateCardMigrationSubscription
from billing.models.revenue import RevenueMonth, UsageRevenueMonth
from billing.models.subscriptions import Subscription, SubscriptionItem
from billing.models.taxes import TaxId, TaxRate

__all__ = [
    "Commitment",
    "CreditNote",
    "CreditNoteLineItem",
    "Coupon",
    "Discount",
    "PromotionCode",
    "Invoice",
    "InvoiceItem",
    "InvoiceLineItem",
    "InvoiceNumberSequence",
    "RateCardMigration",
    "RevenueMonth",
    "UsageRevenueMonth",
    "RateCardMigrationSubscription",
    "Subscription",
    "SubscriptionItem",
    "TaxId",
    "TaxRate",
]
