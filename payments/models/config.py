"""Retries and dunning as staff set them."""

from __future__ import annotations

from django.db import models


class CollectionSettings(models.Model):
    """Retries and dunning, edited on the dashboard (one row; defaults in settings).

    ``retry_days``: days after the first failed attempt at which to retry, e.g.
    ``[3, 5, 7]`` is four attempts over a week.
    """

    class SubscriptionEnd(models.TextChoices):
        PAST_DUE = "past_due", "leave past due"
        UNPAID = "unpaid", "mark unpaid"
        CANCELED = "canceled", "cancel the subscription"

    class InvoiceEnd(models.TextChoices):
        OPEN = "open", "leave open"
        UNCOLLECTIBLE = "uncollectible", "mark uncollectible"

    retry_days = models.JSONField(default=list)
    subscription_end = models.CharField(
        max_length=10, choices=SubscriptionEnd.choices, default=SubscriptionEnd.UNPAID
    )
    invoice_end = models.CharField(
        max_length=15, choices=InvoiceEnd.choices, default=InvoiceEnd.OPEN
    )
    dunning_emails = models.BooleanField(default=True)

    class Meta:
        verbose_name = "collection settings"
        verbose_name_plural = "collection settings"

    def __str__(self) -> str:
        return "Retries and dunning"
