"""Collection settings: the dashboard's row, else the defaults in settings."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from payments.models import CollectionSettings


@dataclass(frozen=True)
class Collection:
    retry_days: tuple[int, ...]
    subscription_end: str  # past_due | unpaid | canceled
    invoice_end: str  # open | uncollectible
    dunning_emails: bool


def collection_settings() -> Collection:
    row = CollectionSettings.objects.order_by("pk").first()
    if row is None:
        return Collection(
            retry_days=tuple(settings.TALLY_PAYMENT_RETRY_DAYS),
            subscription_end=settings.TALLY_DUNNING_SUBSCRIPTION_END,
            invoice_end=settings.TALLY_DUNNING_INVOICE_END,
            dunning_emails=True,
        )
    return Collection(
        retry_days=tuple(row.retry_days),
        subscription_end=row.subscription_end,
        invoice_end=row.invoice_end,
        dunning_emails=row.dunning_emails,
    )
