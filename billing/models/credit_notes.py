"""Credit notes (``cn_``) and their lines (``cnli_``): corrections of a final invoice.

Amounts are integers in the invoice currency's minor unit. A credit note takes
``amount`` off what is left to credit on its invoice (``total`` less the credit
notes issued before), split as Stripe splits it: ``pre_payment_amount`` lowers the
invoice's ``amount_due`` / ``amount_remaining``, ``post_payment_amount`` is owed
back as ``credit_amount`` (to the customer balance) + ``refund_amount`` +
``out_of_band_amount``. The database checks that the parts add up.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce

from billing.models.invoices import Invoice, InvoiceLineItem
from catalog.fields import ExactDecimalField
from core.ids import id_default
from core.models import Customer, StripeObject
from core.modes import LivemodeField, ModeManager


class CreditNote(StripeObject):
    """A credit note on an open or paid invoice (``credit_note``)."""

    class Status(models.TextChoices):
        ISSUED = "issued"
        VOID = "void"

    class Type(models.TextChoices):
        PRE_PAYMENT = "pre_payment"
        POST_PAYMENT = "post_payment"
        MIXED = "mixed"

    class Reason(models.TextChoices):
        DUPLICATE = "duplicate"
        FRAUDULENT = "fraudulent"
        ORDER_CHANGE = "order_change"
        PRODUCT_UNSATISFACTORY = "product_unsatisfactory"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("cn"))
    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="credit_notes"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="credit_notes"
    )
    # 1, 2, ... per invoice; ``number`` is the invoice number + "-CN-01".
    sequence = models.PositiveIntegerField()
    number = models.CharField(max_length=64)
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ISSUED
    )
    type = models.CharField(max_length=15, choices=Type.choices)
    reason = models.CharField(
        max_length=30, choices=Reason.choices, null=True, blank=True
    )
    memo = models.TextField(null=True, blank=True)
    # Minor units. total = subtotal − discount_amount − pretax credits + taxes.
    amount = models.BigIntegerField()
    subtotal = models.BigIntegerField()
    subtotal_excluding_tax = models.BigIntegerField()
    total = models.BigIntegerField()
    total_excluding_tax = models.BigIntegerField()
    discount_amount = models.BigIntegerField(default=0)
    discount_amounts = models.JSONField(default=list, blank=True)
    pretax_credit_amounts = models.JSONField(default=list, blank=True)
    total_taxes = models.JSONField(default=list, blank=True)
    pre_payment_amount = models.BigIntegerField(default=0)
    post_payment_amount = models.BigIntegerField(default=0)
    credit_amount = models.BigIntegerField(default=0)
    refund_amount = models.BigIntegerField(default=0)
    out_of_band_amount = models.BigIntegerField(null=True, blank=True)
    # The ``credit_note`` row of the customer balance ledger (credit_amount).
    customer_balance_transaction = models.CharField(
        max_length=64, null=True, blank=True
    )
    # Stripe's ``refunds``: [{amount_refunded, refund, type, payment_record_refund}]
    # written by the refunder (``billing.collection``) that gave refund_amount back.
    refunds = models.JSONField(default=list, blank=True)
    effective_at = models.DateTimeField()
    voided_at = models.DateTimeField(null=True, blank=True)
    # The public PDF's credential (``/i/cn/<token>/pdf``, Stripe's ``pdf``),
    # made when the note is issued; a preview has none.
    hosted_token = models.CharField(max_length=64, null=True, blank=True)

    class Meta(StripeObject.Meta):
        indexes = [
            *StripeObject.Meta.indexes,
            models.Index(fields=["invoice", "status"], name="billing_cn_invoice"),
            models.Index(fields=["customer", "-created"], name="billing_cn_customer"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "sequence"], name="credit_note_sequence_per_invoice"
            ),
            models.UniqueConstraint(
                fields=["hosted_token"],
                condition=Q(hosted_token__isnull=False),
                name="credit_note_hosted_token_unique",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(amount=F("total")),
                name="credit_note_amount_positive_is_total",
            ),
            models.CheckConstraint(
                condition=Q(pre_payment_amount__gte=0)
                & Q(post_payment_amount__gte=0)
                & Q(amount=F("pre_payment_amount") + F("post_payment_amount")),
                name="credit_note_pre_post_make_amount",
            ),
            models.CheckConstraint(
                condition=Q(credit_amount__gte=0)
                & Q(refund_amount__gte=0)
                & (Q(out_of_band_amount__isnull=True) | Q(out_of_band_amount__gte=0))
                & Q(
                    post_payment_amount=F("credit_amount")
                    + F("refund_amount")
                    + Coalesce(F("out_of_band_amount"), 0)
                ),
                name="credit_note_parts_make_post_payment",
            ),
            models.CheckConstraint(
                condition=Q(status="void", voided_at__isnull=False)
                | (Q(status="issued") & Q(voided_at__isnull=True)),
                name="credit_note_voided_at_with_status",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class CreditNoteLineItem(models.Model):
    """One line of a credit note (``credit_note_line_item``).

    ``invoice_line_item`` lines credit a ``quantity`` or an ``amount`` of an
    invoice line, with that line's discounts, pretax credits and taxes in
    proportion; ``custom_line_item`` lines credit ``quantity × unit_amount``.
    ``amount`` is gross: before discounts and excluding tax (Stripe's).
    """

    class Type(models.TextChoices):
        INVOICE_LINE_ITEM = "invoice_line_item"
        CUSTOM_LINE_ITEM = "custom_line_item"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("cnli"))
    credit_note = models.ForeignKey(
        CreditNote, on_delete=models.CASCADE, related_name="lines"
    )
    position = models.PositiveIntegerField()
    type = models.CharField(max_length=20, choices=Type.choices)
    invoice_line_item = models.ForeignKey(
        InvoiceLineItem,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="credit_note_lines",
    )
    description = models.TextField(null=True, blank=True)
    amount = models.BigIntegerField()  # minor units, gross
    discount_amount = models.BigIntegerField(default=0)
    discount_amounts = models.JSONField(default=list, blank=True)
    pretax_credit_amounts = models.JSONField(default=list, blank=True)
    taxes = models.JSONField(default=list, blank=True)
    tax_rates = models.JSONField(default=list, blank=True)
    quantity = models.BigIntegerField(null=True, blank=True)
    unit_amount = models.BigIntegerField(null=True, blank=True)
    unit_amount_decimal = ExactDecimalField(
        max_digits=30, decimal_places=12, null=True, blank=True
    )
    metadata = models.JSONField(default=dict, blank=True)
    livemode = LivemodeField()
    objects = ModeManager()

    class Meta:
        ordering = ["credit_note", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_note", "position"], name="credit_note_line_position"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="credit_note_line_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(type="custom_line_item", invoice_line_item__isnull=True)
                | Q(type="invoice_line_item", invoice_line_item__isnull=False),
                name="credit_note_line_type_matches_target",
            ),
        ]

    def __str__(self) -> str:
        return self.description or self.id
