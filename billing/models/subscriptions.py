"""Subscriptions and their items.

A subscription's items share one billing cycle (interval × count from the anchor)
and one currency. ``current_period_start/end`` on the subscription is the period
being served; each item carries its own start (an item added mid-period bills its
usage from when it was added) and the shared end.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from core.ids import id_default
from core.models import Customer, StripeObject, TestClock


class Subscription(StripeObject):
    """A customer's recurring purchase of prices (``sub_``)."""

    class Status(models.TextChoices):
        INCOMPLETE = "incomplete"
        INCOMPLETE_EXPIRED = "incomplete_expired"
        TRIALING = "trialing"
        ACTIVE = "active"
        PAST_DUE = "past_due"
        CANCELED = "canceled"
        UNPAID = "unpaid"
        PAUSED = "paused"

    class CollectionMethod(models.TextChoices):
        CHARGE_AUTOMATICALLY = "charge_automatically"
        SEND_INVOICE = "send_invoice"

    # Statuses whose periods still close and bill.
    BILLING_STATUSES = ("trialing", "active", "past_due", "unpaid", "incomplete")

    id = models.CharField(primary_key=True, max_length=64, default=id_default("sub"))
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="subscriptions"
    )
    # The customer's clock, copied so jobs can split clock and real-time work.
    test_clock = models.ForeignKey(
        TestClock, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices)
    currency = models.CharField(max_length=3)
    interval = models.CharField(max_length=5)
    interval_count = models.PositiveIntegerField()
    billing_cycle_anchor = models.DateTimeField()
    # The day of the month boundaries aim for (clamped in short months).
    anchor_day = models.PositiveSmallIntegerField()
    billing_cycle_anchor_config = models.JSONField(null=True, blank=True)
    start_date = models.DateTimeField()
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()
    trial_start = models.DateTimeField(null=True, blank=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    cancel_at = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    cancellation_details = models.JSONField(default=dict, blank=True)
    collection_method = models.CharField(
        max_length=20,
        choices=CollectionMethod.choices,
        default=CollectionMethod.CHARGE_AUTOMATICALLY,
    )
    days_until_due = models.PositiveIntegerField(null=True, blank=True)
    # The ``pm_`` id its invoices are charged to (before the customer's default).
    default_payment_method = models.CharField(max_length=64, null=True, blank=True)
    # billing_thresholds: amount_gte in minor units; null when no thresholds are set.
    threshold_amount_gte = models.BigIntegerField(null=True, blank=True)
    threshold_reset_anchor = models.BooleanField(null=True, blank=True)
    description = models.TextField(null=True, blank=True)
    # Ids of the discounts attached, in order (kept by billing.services.discounts
    # so rendering a subscription needs no query).
    discounts = models.JSONField(default=list, blank=True)
    latest_invoice = models.ForeignKey(
        "billing.Invoice",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # An incomplete subscription expires when its first invoice is unpaid by then.
    incomplete_expires_at = models.DateTimeField(null=True, blank=True)
    # Tax rate ids for items without their own ``tax_rates``; copied to invoices.
    default_tax_rates = models.JSONField(default=list, blank=True)
    # Rate cards (docs/ratecards.md): the card followed and the pinned version
    # (null: the latest published), both taking effect at the next period start;
    # and the version whose rates the current period's metered items carry.
    rate_card = models.ForeignKey(
        "catalog.RateCard",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    rate_card_version = models.ForeignKey(
        "catalog.RateCardVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    rate_card_current_version = models.ForeignKey(
        "catalog.RateCardVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Whether a minimum-spend commitment was ever made on it: only then do its
    # invoices read commitments (``billing.services.commitment_step``).
    has_commitments = models.BooleanField(default=False, db_default=False)

    class Meta(StripeObject.Meta):
        indexes = [
            *StripeObject.Meta.indexes,
            # Period close: due subscriptions by state, in id order.
            models.Index(
                fields=["status", "current_period_end", "id"], name="billing_sub_due"
            ),
            models.Index(fields=["customer", "status"], name="billing_sub_customer"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(current_period_start__lt=F("current_period_end")),
                name="subscription_period_start_before_end",
            ),
            models.CheckConstraint(
                condition=Q(anchor_day__gte=1, anchor_day__lte=31),
                name="subscription_anchor_day_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def is_billing(self) -> bool:
        return self.status in self.BILLING_STATUSES


class SubscriptionItem(StripeObject):
    """One price on a subscription (``si_``); ``quantity`` is null when metered."""

    id = models.CharField(primary_key=True, max_length=64, default=id_default("si"))
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="items"
    )
    price = models.ForeignKey(
        "catalog.Price", on_delete=models.PROTECT, related_name="subscription_items"
    )
    # Items keep the order they were added in (lines follow it).
    position = models.PositiveIntegerField(default=0)
    quantity = models.PositiveIntegerField(null=True, blank=True)
    # billing_thresholds.usage_gte in the meter's units; null when not set.
    usage_gte = models.BigIntegerField(null=True, blank=True)
    # Tax rate ids of this item's lines; empty: the subscription's defaults apply.
    tax_rates = models.JSONField(default=list, blank=True)
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()

    class Meta(StripeObject.Meta):
        ordering = ["position", "created", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "price"], name="subscription_item_price_once"
            ),
            models.CheckConstraint(
                condition=Q(current_period_start__lt=F("current_period_end")),
                name="subscription_item_period_start_before_end",
            ),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def is_metered(self) -> bool:
        return self.price.is_metered
