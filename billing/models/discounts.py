"""Coupons, promotion codes, and discounts (a coupon applied to something).

A ``Coupon`` says how much comes off (``percent_off`` or ``amount_off`` in a
currency's minor units) and for how long (``once``, ``repeating`` for
``duration_in_months``, ``forever``). A ``PromotionCode`` is a customer-facing
code for a coupon, with its own restrictions. A ``Discount`` is one application
of a coupon to a customer, a subscription, a one-off invoice or an invoice item;
redeeming one counts against the coupon's (and the code's) ``max_redemptions``
under a conditional UPDATE, so parallel redemptions never go over.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from billing.models.invoices import Invoice, InvoiceItem
from billing.models.subscriptions import Subscription
from catalog.fields import ExactDecimalField
from core.ids import id_default
from core.models import Customer, StripeObject


class Coupon(StripeObject):
    """How much a discount takes off, and for how long (id given or generated)."""

    class Duration(models.TextChoices):
        ONCE = "once"
        REPEATING = "repeating"
        FOREVER = "forever"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("co"))
    name = models.CharField(max_length=40, null=True, blank=True)
    percent_off = ExactDecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True
    )
    amount_off = models.BigIntegerField(null=True, blank=True)  # minor units
    currency = models.CharField(max_length=3, null=True, blank=True)
    duration = models.CharField(
        max_length=10, choices=Duration.choices, default=Duration.ONCE
    )
    duration_in_months = models.PositiveIntegerField(null=True, blank=True)
    # applies_to.products: product ids; empty means every product.
    applies_to_products = models.JSONField(default=list, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    redeem_by = models.DateTimeField(null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0)
    # A deleted coupon is hidden from the API; discounts made from it stay.
    deleted = models.BooleanField(default=False)

    class Meta(StripeObject.Meta):
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(percent_off__isnull=False, amount_off__isnull=True)
                    | Q(
                        percent_off__isnull=True,
                        amount_off__isnull=False,
                        currency__isnull=False,
                    )
                ),
                name="coupon_percent_or_amount",
            ),
            models.CheckConstraint(
                # ≤ 100 is the service's check: SQLite keeps decimals as text.
                condition=Q(percent_off__isnull=True) | Q(percent_off__gt=0),
                name="coupon_percent_positive",
            ),
            models.CheckConstraint(
                condition=Q(amount_off__isnull=True) | Q(amount_off__gt=0),
                name="coupon_amount_positive",
            ),
            models.CheckConstraint(
                condition=Q(max_redemptions__isnull=True)
                | Q(times_redeemed__lte=models.F("max_redemptions")),
                name="coupon_redemptions_within_max",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.id


class PromotionCode(StripeObject):
    """A customer-facing code for a coupon (``promo_``)."""

    id = models.CharField(primary_key=True, max_length=64, default=id_default("promo"))
    code = models.CharField(max_length=500)
    coupon = models.ForeignKey(
        Coupon, on_delete=models.PROTECT, related_name="promotion_codes"
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    active = models.BooleanField(default=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0)
    first_time_transaction = models.BooleanField(default=False)
    minimum_amount = models.BigIntegerField(null=True, blank=True)  # minor units
    minimum_amount_currency = models.CharField(max_length=3, null=True, blank=True)

    class Meta(StripeObject.Meta):
        constraints = [
            # Codes are case-insensitive and unique among active codes per mode.
            models.UniqueConstraint(
                Upper("code"),
                "livemode",
                condition=Q(active=True),
                name="promotion_code_active_unique",
            ),
            models.CheckConstraint(
                condition=Q(max_redemptions__isnull=True)
                | Q(times_redeemed__lte=models.F("max_redemptions")),
                name="promotion_code_redemptions_within_max",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Discount(StripeObject):
    """A coupon applied to one customer, subscription, invoice or invoice item.

    Exactly one of ``subscription``, ``invoice``, ``invoice_item`` is set, or none
    (a customer's own discount). ``end`` is when a ``repeating`` coupon stops;
    ``once_invoice`` is the invoice a ``once`` discount was spent on; ``removed_at``
    is set when it is taken off (the row stays: invoices name it).
    """

    id = models.CharField(primary_key=True, max_length=64, default=id_default("di"))
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="+")
    promotion_code = models.ForeignKey(
        PromotionCode,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="discounts"
    )
    subscription = models.ForeignKey(
        Subscription,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="discount_rows",
    )
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    invoice_item = models.ForeignKey(
        InvoiceItem, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    position = models.PositiveSmallIntegerField(default=0)
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)
    once_invoice = models.ForeignKey(
        Invoice,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta(StripeObject.Meta):
        constraints = [
            # One live discount of the customer's own (``customer.discount``).
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(
                    subscription__isnull=True,
                    invoice__isnull=True,
                    invoice_item__isnull=True,
                    removed_at__isnull=True,
                ),
                name="discount_one_per_customer",
            ),
        ]
        indexes = [
            *StripeObject.Meta.indexes,
            models.Index(
                fields=["subscription", "removed_at"], name="billing_di_subscription"
            ),
            models.Index(fields=["customer", "removed_at"], name="billing_di_customer"),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def level(self) -> str:
        if self.invoice_item_id:
            return "invoice_item"
        if self.invoice_id:
            return "invoice"
        if self.subscription_id:
            return "subscription"
        return "customer"
