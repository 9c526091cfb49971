"""Models of the billing app: subscriptions, invoices, lines and invoice items."""

from billing.models.discounts import Coupon, Discount, PromotionCode
from billing.models.invoices import Invoice, InvoiceItem, InvoiceLineItem
from billing.models.subscriptions import Subscription, SubscriptionItem

__all__ = [
    "Coupon",
    "Discount",
    "PromotionCode",
    "Invoice",
    "InvoiceItem",
    "InvoiceLineItem",
    "Subscription",
    "SubscriptionItem",
]
