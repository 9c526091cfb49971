"""Invoices, their lines, and invoice items (one-off charges, prorations).

Amounts are integers of the currency's minor unit: every line is computed exactly
and rounded once, and invoice totals are sums of rounded lines. Once an invoice is
finalized the database itself refuses changes to its amounts and its lines (see
migration ``0002_immutable_invoices``).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from billing.models.subscriptions import Subscription, SubscriptionItem
from catalog.fields import ExactDecimalField
from core.ids import id_default
from core.models import Customer, StripeObject, TestClock
from core.modes import LivemodeField, ModeManager


def quantity_field(**kwargs) -> ExactDecimalField:
    """A usage or seat quantity, up to 12 decimal places (``quantity_decimal``)."""
    return ExactDecimalField(max_digits=40, decimal_places=12, **kwargs)


class Invoice(StripeObject):
    """A statement of what a customer owes (``in_``)."""

    class Status(models.TextChoices):
        DRAFT = "draft"
        OPEN = "open"
        PAID = "paid"
        UNCOLLECTIBLE = "uncollectible"
        VOID = "void"

    class BillingReason(models.TextChoices):
        MANUAL = "manual"
        SUBSCRIPTION_CREATE = "subscription_create"
        SUBSCRIPTION_CYCLE = "subscription_cycle"
        SUBSCRIPTION_UPDATE = "subscription_update"
        SUBSCRIPTION_THRESHOLD = "subscription_threshold"

    CollectionMethod = Subscription.CollectionMethod
    # One invoice per subscription, reason and period: the exactly-once key.
    ONCE_PER_PERIOD = ("subscription_create", "subscription_cycle")

    id = models.CharField(primary_key=True, max_length=64, default=id_default("in"))
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="invoices"
    )
    subscription = models.ForeignKey(
        Subscription,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="invoices",
    )
    test_clock = models.ForeignKey(
        TestClock, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(
        max_length=15, choices=Status.choices, default=Status.DRAFT
    )
    billing_reason = models.CharField(max_length=30, choices=BillingReason.choices)
    collection_method = models.CharField(
        max_length=20,
        choices=CollectionMethod.choices,
        default=CollectionMethod.CHARGE_AUTOMATICALLY,
    )
    currency = models.CharField(max_length=3)
    number = models.CharField(max_length=40, null=True, blank=True)
    auto_advance = models.BooleanField(default=False)
    description = models.TextField(null=True, blank=True)
    footer = models.TextField(null=True, blank=True)
    days_until_due = models.PositiveIntegerField(null=True, blank=True)
    due_date = models.DateTimeField(null=True, blank=True)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    # Minor units. subtotal = Σ lines; total = subtotal − pre-tax credits.
    subtotal = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    starting_balance = models.BigIntegerField(default=0)
    ending_balance = models.BigIntegerField(null=True, blank=True)
    amount_due = models.BigIntegerField(default=0)
    amount_paid = models.BigIntegerField(default=0)
    amount_remaining = models.BigIntegerField(default=0)
    total_pretax_credit_amounts = models.JSONField(default=list, blank=True)
    # Minor units credited by issued credit notes: before payment (taken off
    # amount_due and amount_remaining) and after it (credited, refunded, or out
    # of band). See ``billing.services.credit_notes``.
    pre_payment_credit_notes_amount = models.BigIntegerField(default=0)
    post_payment_credit_notes_amount = models.BigIntegerField(default=0)
    # Discount ids applied (invoice-level order) and [{amount, discount}] per
    # discount, set when the discount step runs at finalization.
    discounts = models.JSONField(default=list, blank=True)
    total_discount_amounts = models.JSONField(default=list, blank=True)
    threshold_reason = models.JSONField(null=True, blank=True)
    # When a draft with auto_advance finalizes by itself (the grace period's end).
    finalize_at = models.DateTimeField(null=True, blank=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_out_of_band = models.BooleanField(default=False)
    # Collection (the payments app): charge attempts made, the next one planned,
    # and the payment method this invoice is charged to (a ``pm_`` id).
    attempt_count = models.PositiveIntegerField(default=0)
    next_payment_attempt = models.DateTimeField(null=True, blank=True)
    default_payment_method = models.CharField(max_length=64, null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    marked_uncollectible_at = models.DateTimeField(null=True, blank=True)
    webhooks_delivered_at = models.DateTimeField(null=True, blank=True)
    effective_at = models.DateTimeField(null=True, blank=True)
    # The customer as billed: live while a draft, frozen at finalization.
    customer_name = models.CharField(max_length=256, null=True, blank=True)
    customer_email = models.CharField(max_length=512, null=True, blank=True)
    customer_address = models.JSONField(null=True, blank=True)
    # Taxes (``billing.taxes``): rate ids for lines without their own, the
    # per-rate totals (Stripe's ``total_taxes``), and the customer's tax status
    # and tax ids as billed (frozen at finalization).
    default_tax_rates = models.JSONField(default=list, blank=True)
    total_taxes = models.JSONField(default=list, blank=True)
    customer_tax_exempt = models.CharField(max_length=10, null=True, blank=True)
    customer_tax_ids = models.JSONField(default=list, blank=True)
    # The secret in the public hosted page and PDF links (``/i/<token>``), made at
    # finalization; drafts have none, as Stripe's have no hosted_invoice_url.
    hosted_token = models.CharField(
        max_length=64, null=True, blank=True, editable=False
    )

    class Meta(StripeObject.Meta):
        indexes = [
            *StripeObject.Meta.indexes,
            # Finalization: drafts whose grace period ended, in id order.
            models.Index(fields=["status", "finalize_at", "id"], name="billing_in_due"),
            models.Index(
                fields=["customer", "status", "-created"], name="billing_in_customer"
            ),
            models.Index(
                fields=["subscription", "-created"], name="billing_in_subscription"
            ),
            # The dashboard home's months (invoiced, collected) and past-due count.
            models.Index(
                fields=["finalized_at"],
                condition=Q(finalized_at__isnull=False),
                name="billing_in_finalized",
            ),
            models.Index(
                fields=["paid_at"],
                condition=Q(paid_at__isnull=False),
                name="billing_in_paid",
            ),
            models.Index(fields=["status", "due_date"], name="billing_in_status_due"),
            # The dashboard's search by number, over every customer.
            models.Index(
                fields=["number"],
                condition=Q(number__isnull=False),
                name="billing_in_number",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "billing_reason", "period_start"],
                condition=Q(
                    billing_reason__in=("subscription_create", "subscription_cycle")
                ),
                name="invoice_once_per_subscription_period",
            ),
            models.UniqueConstraint(
                fields=["customer", "number"],
                condition=Q(number__isnull=False),
                name="invoice_number_unique_per_customer",
            ),
            # Partial, so SQLite adds it without rebuilding the guarded table.
            models.UniqueConstraint(
                fields=["hosted_token"],
                condition=Q(hosted_token__isnull=False),
                name="invoice_hosted_token_unique",
            ),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0) & Q(amount_remaining__gte=0),
                name="invoice_amounts_paid_remaining_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(period_start__lte=models.F("period_end")),
                name="invoice_period_start_not_after_end",
            ),
            # Credit notes never credit more than the invoice's total.
            models.CheckConstraint(
                condition=Q(pre_payment_credit_notes_amount__gte=0)
                & Q(post_payment_credit_notes_amount__gte=0)
                & (
                    Q(
                        pre_payment_credit_notes_amount=0,
                        post_payment_credit_notes_amount=0,
                    )
                    | Q(
                        total__gte=models.F("pre_payment_credit_notes_amount")
                        + models.F("post_payment_credit_notes_amount")
                    )
                ),
                name="invoice_credit_notes_within_total",
            ),
        ]

    def __str__(self) -> str:
        return self.number or self.id

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def reverse_charge(self) -> bool:
        """The customer accounts for the tax: the invoice must say "Reverse charge"."""
        return self.customer_tax_exempt == Customer.TaxExempt.REVERSE


class InvoiceItem(StripeObject):
    """A one-off charge or credit (``ii_``); pending until it lands on an invoice."""

    id = models.CharField(primary_key=True, max_length=64, default=id_default("ii"))
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="invoice_items"
    )
    invoice = models.ForeignKey(
        Invoice,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="invoice_items",
    )
    # Only this subscription's next invoice picks the item up.
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    subscription_item = models.ForeignKey(
        SubscriptionItem,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    test_clock = models.ForeignKey(
        TestClock, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    amount = models.BigIntegerField()  # minor units, rounded once; may be negative
    currency = models.CharField(max_length=3)
    description = models.TextField(null=True, blank=True)
    date = models.DateTimeField()
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    price = models.ForeignKey(
        "catalog.Price",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    quantity = quantity_field(default=1)
    unit_amount_decimal = ExactDecimalField(
        max_digits=30, decimal_places=12, null=True, blank=True
    )
    proration = models.BooleanField(default=False)
    proration_details = models.JSONField(null=True, blank=True)
    discountable = models.BooleanField(default=True)
    tax_rates = models.JSONField(default=list, blank=True)  # tax rate ids
    # Ids of the item's own discounts (billing.services.discounts keeps them).
    discounts = models.JSONField(default=list, blank=True)

    class Meta(StripeObject.Meta):
        indexes = [
            *StripeObject.Meta.indexes,
            models.Index(
                fields=["customer", "invoice", "created"], name="billing_ii_pending"
            ),
        ]

    def __str__(self) -> str:
        return self.description or self.id


class InvoiceLineItem(models.Model):
    """One line of an invoice (``line_item``, ``il_``); frozen once finalized."""

    class Kind(models.TextChoices):
        # A licensed price for a period (in advance).
        LICENSED = "licensed"
        # A metered price's usage over a period (in arrears).
        METERED = "metered"
        # Usage reported after its period's invoice was final.
        LATE_USAGE = "late_usage"
        # An invoice item (one-off, proration, usage of a removed item).
        INVOICE_ITEM = "invoice_item"
        # What a period's usage fell short of a minimum-spend commitment.
        COMMITMENT_TRUE_UP = "true_up"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("il"))
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=15, choices=Kind.choices)
    amount = models.BigIntegerField()  # minor units, rounded once
    currency = models.CharField(max_length=3)
    description = models.TextField(null=True, blank=True)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    price = models.ForeignKey(
        "catalog.Price",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Seats for licensed lines; usage billed by this line for metered ones.
    quantity = quantity_field(null=True, blank=True)
    unit_amount_decimal = ExactDecimalField(
        max_digits=30, decimal_places=12, null=True, blank=True
    )
    # The ids stay on the line after an item or subscription is gone.
    subscription = models.ForeignKey(
        Subscription,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    subscription_item = models.ForeignKey(
        SubscriptionItem,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    invoice_item = models.ForeignKey(
        InvoiceItem,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    proration = models.BooleanField(default=False)
    proration_details = models.JSONField(null=True, blank=True)
    discountable = models.BooleanField(default=True)
    metadata = models.JSONField(default=dict, blank=True)
    # [{amount, type, credit_balance_transaction}] applied at finalization.
    pretax_credit_amounts = models.JSONField(default=list, blank=True)
    # The line's own tax rate ids (empty: the invoice's defaults apply), and
    # [{amount, tax_behavior, tax_rate_details, taxability_reason,
    # taxable_amount, type}] computed at finalization.
    tax_rates = models.JSONField(default=list, blank=True)
    taxes = models.JSONField(default=list, blank=True)
    # [{amount, discount}] applied at finalization, in the order applied.
    discount_amounts = models.JSONField(default=list, blank=True)
    created = models.DateTimeField()
    livemode = LivemodeField()
    objects = ModeManager()

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "position"], name="invoice_line_position_unique"
            )
        ]
        indexes = [
            # Usage already billed for an item's period (late usage, thresholds).
            models.Index(
                fields=["subscription_item", "period_start"],
                name="billing_line_item_period",
            )
        ]

    def __str__(self) -> str:
        return self.description or self.id

    @property
    def is_metered(self) -> bool:
        return self.kind in (self.Kind.METERED, self.Kind.LATE_USAGE) or bool(
            self.price_id and self.price.is_metered
        )
