"""Paid credits: what a paid prepayment granted, and auto top-ups."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.models import Customer
from core.modes import LivemodeField, ModeManager


class PaidCredit(models.Model):
    """The credit grant a paid prepayment invoice bought: one per invoice."""

    invoice = models.OneToOneField(
        "billing.Invoice", on_delete=models.CASCADE, related_name="paid_credit"
    )
    credit_grant = models.OneToOneField(
        "credits.CreditGrant", on_delete=models.CASCADE, related_name="paid_by"
    )
    created = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.invoice_id} → {self.credit_grant_id}"


class AutoTopUp(models.Model):
    """A customer's standing order: below ``threshold`` of available credit, buy
    ``amount`` more, at most ``monthly_ceiling`` a calendar month (minor units).

    ``armed`` is cleared when a top-up starts and set again once the balance is
    back at or above the threshold: one top-up per crossing.
    """

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="auto_top_up"
    )
    currency = models.CharField(max_length=3, default="usd")
    threshold = models.BigIntegerField()
    amount = models.BigIntegerField()
    monthly_ceiling = models.BigIntegerField()
    enabled = models.BooleanField(default=True)
    armed = models.BooleanField(default=True)
    crossings = models.PositiveIntegerField(default=0)
    created = models.DateTimeField()
    livemode = LivemodeField()
    objects = ModeManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0)
                & Q(threshold__gte=0)
                & Q(monthly_ceiling__gte=models.F("amount")),
                name="auto_top_up_amounts_valid",
            )
        ]

    def __str__(self) -> str:
        return f"Auto top-up for {self.customer_id}"


class TopUp(models.Model):
    """One top-up: the crossing it answers (unique) and the invoice it made."""

    auto_top_up = models.ForeignKey(
        AutoTopUp, on_delete=models.CASCADE, related_name="top_ups"
    )
    crossing = models.PositiveIntegerField()
    amount = models.BigIntegerField()
    balance_seen = models.BigIntegerField()
    invoice = models.OneToOneField(
        "billing.Invoice",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="top_up",
    )
    created = models.DateTimeField()
    livemode = LivemodeField()
    objects = ModeManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["auto_top_up", "crossing"], name="top_up_once_per_crossing"
            )
        ]

    def __str__(self) -> str:
        return f"{self.auto_top_up_id} #{self.crossing}"
