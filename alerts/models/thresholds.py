"""The billing-threshold invoices of subscription periods.

``ThresholdInvoice``: one billing-threshold invoice of a subscription period.
``(subscription, period_start, sequence)`` is unique, so a crossing is invoiced
once even by two workers that both saw it.
"""

from __future__ import annotations

from django.db import models

from core import clock
from core.models import Customer


class ThresholdInvoice(models.Model):
    """A ``subscription_threshold`` invoice issued when a billing threshold was met.

    ``sequence`` counts the threshold invoices of the subscription's period from 1.
    """

    subscription = models.ForeignKey(
        "billing.Subscription", on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    period_start = models.DateTimeField()
    sequence = models.PositiveIntegerField()
    invoice = models.OneToOneField(
        "billing.Invoice", on_delete=models.CASCADE, related_name="+"
    )
    # Stripe's ``threshold_reason`` as the invoice carries it.
    reason = models.JSONField(default=dict)
    # The amount compared with ``amount_gte`` (minor units), null if not set.
    amount = models.BigIntegerField(null=True, blank=True)
    created = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_start", "sequence"],
                name="threshold_invoice_once_per_crossing",
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "-created"], name="threshold_invoice_customer"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} #{self.sequence}"
