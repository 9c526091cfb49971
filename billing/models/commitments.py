"""Commitments (``billing.commitment``, ``bcmt_``): committed spend of a customer.

Two kinds, named after Metronome's commits (Stripe's v1 API has none):

- ``minimum_spend``: a subscription's spend (its usage, or with ``spend_scope``
  ``all_charges`` every subscription charge) must come to at least ``amount`` per
  billing period of the term; a period short of it gets a true-up line for the
  difference on its cycle (or final) invoice. Periods the term or a cancellation
  cuts short owe a share of the minimum per ``proration``
  (``billing.compose.commitment``).
- ``prepaid``: ``amount`` paid for up front and drawn down by the usage of the
  term, through a paid credit grant covering the usage; usage beyond it is billed
  at the rates.

``Subscription.has_commitments`` says whether a subscription has any minimum, so
that the invoices of the others read nothing more.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from core.ids import id_default
from core.models import Customer, StripeObject


class Commitment(StripeObject):
    """A minimum spend per period, or a prepaid amount drawn down over a term."""

    class Type(models.TextChoices):
        MINIMUM_SPEND = "minimum_spend"
        PREPAID = "prepaid"

    class Proration(models.TextChoices):
        """Which cut-short periods owe only their share (Metronome's values)."""

        FIRST_AND_LAST = "first_and_last"
        FIRST = "first"
        LAST = "last"
        NONE = "none"

    class SpendScope(models.TextChoices):
        """What counts towards the minimum."""

        USAGE = "usage"
        ALL_CHARGES = "all_charges"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("bcmt"))
    type = models.CharField(max_length=20, choices=Type.choices)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="commitments"
    )
    subscription = models.ForeignKey(
        "billing.Subscription",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="commitments",
    )
    currency = models.CharField(max_length=3)
    # Minor units: per period (minimum_spend) or for the whole term (prepaid).
    amount = models.BigIntegerField()
    term_start = models.DateTimeField()
    # None: open-ended (minimum_spend only).
    term_end = models.DateTimeField(null=True, blank=True)
    # The paid grant a prepaid commitment draws down.
    credit_grant = models.OneToOneField(
        "credits.CreditGrant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="commitment",
    )
    # The pending invoice item that bills a prepaid amount, when asked for.
    invoice_item = models.ForeignKey(
        "billing.InvoiceItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Minimum spend only (prepaid ones keep the defaults).
    proration = models.CharField(
        max_length=20,
        choices=Proration.choices,
        default=Proration.FIRST_AND_LAST,
        db_default=Proration.FIRST_AND_LAST,
    )
    spend_scope = models.CharField(
        max_length=20,
        choices=SpendScope.choices,
        default=SpendScope.USAGE,
        db_default=SpendScope.USAGE,
    )
    description = models.CharField(max_length=500, null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta(StripeObject.Meta):
        indexes = [
            *StripeObject.Meta.indexes,
            models.Index(
                fields=["subscription", "term_start"], name="billing_cmt_subscription"
            ),
            models.Index(
                fields=["customer", "term_start"], name="billing_cmt_customer"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="commitment_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(term_end__isnull=True) | Q(term_start__lt=F("term_end")),
                name="commitment_term_start_before_end",
            ),
        ]

    def __str__(self) -> str:
        return self.id
