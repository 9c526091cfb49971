"""Payment methods: only references from a processor, never card numbers."""

from __future__ import annotations

from django.db import models

from core.ids import id_default
from core.models import Customer, StripeObject


class PaymentMethod(StripeObject):
    """A customer's means of payment (``pm_``), as the processor knows it."""

    id = models.CharField(primary_key=True, max_length=64, default=id_default("pm"))
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="payment_methods",
    )
    type = models.CharField(max_length=30, default="card")
    # {brand, last4, exp_month, exp_year, funding, country, fingerprint}
    card = models.JSONField(default=dict, blank=True)
    billing_details = models.JSONField(default=dict, blank=True)
    allow_redisplay = models.CharField(max_length=20, default="unspecified")
    # Which processor holds it (``simulator``, ``stripe``) and its reference there.
    processor = models.CharField(max_length=30)
    processor_reference = models.CharField(max_length=255)
    processor_customer = models.CharField(max_length=255, null=True, blank=True)

    class Meta(StripeObject.Meta):
        indexes = [
            *StripeObject.Meta.indexes,
            models.Index(fields=["customer", "-created"], name="payments_pm_customer"),
        ]

    def __str__(self) -> str:
        brand = (self.card or {}).get("brand", self.type)
        return f"{brand} •••• {(self.card or {}).get('last4', '')}".strip()
