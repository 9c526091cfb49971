"""Tax rates and customers' tax ids.

A ``TaxRate`` (``txr_``) is a percentage, inclusive or exclusive, that
subscriptions, their items, invoices and invoice items name by id. Once a
finalized invoice has used it (``used_at``), its percentage and ``inclusive``
never change: the invoice's figures must stay explainable by the rate it names.
A ``TaxId`` (``txi_``) is a customer's tax identification number, checked for
format and check digits when created and copied onto invoices at finalization.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from catalog.fields import ExactDecimalField
from core.ids import id_default
from core.models import Customer, StripeObject


class TaxRate(StripeObject):
    """A manual tax rate (``tax_rate``): ``percentage`` out of 100."""

    id = models.CharField(primary_key=True, max_length=64, default=id_default("txr"))
    display_name = models.CharField(max_length=50)
    description = models.TextField(null=True, blank=True)
    # Up to 4 decimal places, as Stripe: 8.875 (New York City sales tax).
    percentage = ExactDecimalField(max_digits=8, decimal_places=4)
    inclusive = models.BooleanField()
    active = models.BooleanField(default=True)
    jurisdiction = models.CharField(max_length=50, null=True, blank=True)
    country = models.CharField(max_length=2, null=True, blank=True)
    state = models.CharField(max_length=20, null=True, blank=True)
    tax_type = models.CharField(max_length=40, null=True, blank=True)
    # When a finalized invoice first used the rate: percentage and inclusive freeze.
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta(StripeObject.Meta):
        # At most 100 is the services' check: on SQLite the exact decimal is
        # text, which compares with 100 as text (catalog.fields.ExactDecimalField).
        constraints = [
            models.CheckConstraint(
                condition=Q(percentage__gte=0), name="tax_rate_percentage_not_negative"
            )
        ]

    def __str__(self) -> str:
        kind = "incl." if self.inclusive else "excl."
        return f"{self.display_name} {self.percentage.normalize():f}% ({kind})"


class TaxId(StripeObject):
    """A customer's tax id (``tax_id``), e.g. an EU VAT number."""

    class VerificationStatus(models.TextChoices):
        PENDING = "pending"
        VERIFIED = "verified"
        UNVERIFIED = "unverified"
        UNAVAILABLE = "unavailable"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("txi"))
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="tax_ids"
    )
    type = models.CharField(max_length=20)
    value = models.CharField(max_length=64)
    country = models.CharField(max_length=2, null=True, blank=True)
    verification_status = models.CharField(
        max_length=12,
        choices=VerificationStatus.choices,
        default=VerificationStatus.UNAVAILABLE,
    )
    verified_name = models.CharField(max_length=256, null=True, blank=True)
    verified_address = models.TextField(null=True, blank=True)

    class Meta(StripeObject.Meta):
        indexes = [
            *StripeObject.Meta.indexes,
            models.Index(fields=["customer", "-created"], name="billing_txi_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.value}"
