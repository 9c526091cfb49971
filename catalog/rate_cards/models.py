"""Metered items, rate cards, rate card versions and rates.

A rate is backed by a catalog ``Price`` (metered, the card's currency and
interval, the metered item's meter and segment), written when the rate is set:
the composition pipeline prices a rate-card subscription's items exactly as any
other metered item, and an issued invoice's lines keep pointing at the prices
they were rated with. A version is a draft until published; a published version
never changes: every write locks the card row and refuses a published version.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.ids import id_default
from core.models import StripeObject


class MeteredItem(StripeObject):
    """Something billed by usage (``bli_``): a meter, or one segment of it."""

    id = models.CharField(primary_key=True, max_length=64, default=id_default("bli"))
    display_name = models.CharField(max_length=250)
    meter = models.ForeignKey(
        "metering.Meter", on_delete=models.PROTECT, related_name="metered_items"
    )
    # [{"dimension": key, "value": value}], sorted by dimension; [] = whole meter.
    meter_segment_conditions = models.JSONField(default=list, blank=True)
    unit_label = models.CharField(max_length=100, null=True, blank=True)
    lookup_key = models.CharField(max_length=200, null=True, blank=True)
    # The product invoice lines name (display_name, unit_label); made with the item.
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="+"
    )

    class Meta(StripeObject.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["livemode", "lookup_key"],
                condition=Q(lookup_key__isnull=False),
                name="metered_item_lookup_key_per_mode",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name


class RateCard(StripeObject):
    """Versioned usage rates in one currency and service interval (``rcd_``)."""

    class ServiceInterval(models.TextChoices):
        DAY = "day"
        WEEK = "week"
        MONTH = "month"
        YEAR = "year"

    class TaxBehavior(models.TextChoices):
        EXCLUSIVE = "exclusive"
        INCLUSIVE = "inclusive"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("rcd"))
    display_name = models.CharField(max_length=250)
    active = models.BooleanField(default=True)
    currency = models.CharField(max_length=3)
    service_interval = models.CharField(max_length=5, choices=ServiceInterval.choices)
    service_interval_count = models.PositiveIntegerField(default=1)
    tax_behavior = models.CharField(
        max_length=9, choices=TaxBehavior.choices, default=TaxBehavior.EXCLUSIVE
    )
    lookup_key = models.CharField(max_length=200, null=True, blank=True)
    # The newest published version, and the one new subscriptions follow by default.
    latest_version = models.ForeignKey(
        "catalog.RateCardVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    live_version = models.ForeignKey(
        "catalog.RateCardVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta(StripeObject.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["livemode", "lookup_key"],
                condition=Q(lookup_key__isnull=False),
                name="rate_card_lookup_key_per_mode",
            ),
            models.CheckConstraint(
                condition=Q(service_interval_count__gte=1),
                name="rate_card_interval_count_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name


class RateCardVersion(StripeObject):
    """One version of a card's rates (``rcdv_``); immutable once published."""

    id = models.CharField(primary_key=True, max_length=64, default=id_default("rcdv"))
    rate_card = models.ForeignKey(
        RateCard, on_delete=models.CASCADE, related_name="versions"
    )
    # 1, 2, ... in order of creation (Tally extension, shown on pages).
    number = models.PositiveIntegerField()
    # Null while a draft (Tally extension: Stripe publishes on every change).
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta(StripeObject.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["rate_card", "number"], name="rate_card_version_number_once"
            ),
            # At most one draft per card: rates go to it until it is published.
            models.UniqueConstraint(
                fields=["rate_card"],
                condition=Q(published_at__isnull=True),
                name="rate_card_one_draft",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rate_card_id} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class RateCardRate(StripeObject):
    """The price of one metered item in one version (``rcdr_``)."""

    id = models.CharField(primary_key=True, max_length=64, default=id_default("rcdr"))
    rate_card = models.ForeignKey(
        RateCard, on_delete=models.CASCADE, related_name="rates"
    )
    rate_card_version = models.ForeignKey(
        RateCardVersion, on_delete=models.CASCADE, related_name="rates"
    )
    metered_item = models.ForeignKey(
        MeteredItem, on_delete=models.PROTECT, related_name="rates"
    )
    # The metered price the pipeline rates with (amounts and tiers live on it).
    price = models.ForeignKey(
        "catalog.Price", on_delete=models.PROTECT, related_name="+"
    )

    class Meta(StripeObject.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["rate_card_version", "metered_item"],
                name="rate_card_rate_item_once_per_version",
            ),
        ]

    def __str__(self) -> str:
        return self.id
