"""Products, prices and price tiers.

Amounts are ``Decimal`` in the currency's minor unit (cents for USD) with up to 12
decimal places, so 0.1 cent per token is ``Decimal("0.1")``. Amounts, tiers and
the recurring terms of a price never change after creation; prices are archived
(``active=False``), not edited.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q

from catalog.fields import ExactDecimalField
from core import clock
from core.ids import id_default
from core.models import StripeObject
from core.modes import LivemodeField, ModeManager


def amount_field(**kwargs) -> ExactDecimalField:
    """An amount in minor units, up to 12 decimal places (``unit_amount_decimal``)."""
    return ExactDecimalField(max_digits=30, decimal_places=12, **kwargs)


class Product(StripeObject):
    """What is sold (``prod_``); its prices say how much and how often."""

    class Type(models.TextChoices):
        SERVICE = "service"
        GOOD = "good"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("prod"))
    name = models.CharField(max_length=250)
    description = models.TextField(null=True, blank=True)
    active = models.BooleanField(default=True)
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.SERVICE)
    unit_label = models.CharField(max_length=12, null=True, blank=True)
    statement_descriptor = models.CharField(max_length=22, null=True, blank=True)
    tax_code = models.CharField(max_length=64, null=True, blank=True)
    url = models.CharField(max_length=2048, null=True, blank=True)
    images = models.JSONField(default=list, blank=True)
    marketing_features = models.JSONField(default=list, blank=True)
    shippable = models.BooleanField(null=True, blank=True)
    package_dimensions = models.JSONField(null=True, blank=True)
    default_price = models.ForeignKey(
        "catalog.Price",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated = models.DateTimeField(default=clock.now)

    class Meta(StripeObject.Meta):
        indexes = [
            *StripeObject.Meta.indexes,
            models.Index(fields=["active", "-created"], name="catalog_product_active"),
        ]

    def __str__(self) -> str:
        return self.name


class Price(StripeObject):
    """How much a product costs (``price_``): per unit or tiered, once or recurring."""

    class Type(models.TextChoices):
        ONE_TIME = "one_time"
        RECURRING = "recurring"

    class BillingScheme(models.TextChoices):
        PER_UNIT = "per_unit"
        TIERED = "tiered"

    class TiersMode(models.TextChoices):
        GRADUATED = "graduated"
        VOLUME = "volume"

    class Interval(models.TextChoices):
        DAY = "day"
        WEEK = "week"
        MONTH = "month"
        YEAR = "year"

    class UsageType(models.TextChoices):
        LICENSED = "licensed"
        METERED = "metered"

    class Round(models.TextChoices):
        UP = "up"
        DOWN = "down"

    class TaxBehavior(models.TextChoices):
        INCLUSIVE = "inclusive"
        EXCLUSIVE = "exclusive"
        UNSPECIFIED = "unspecified"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("price"))
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="prices"
    )
    active = models.BooleanField(default=True)
    currency = models.CharField(max_length=3)
    type = models.CharField(max_length=10, choices=Type.choices)
    billing_scheme = models.CharField(
        max_length=10, choices=BillingScheme.choices, default=BillingScheme.PER_UNIT
    )
    # Minor units per (billed) unit; null for tiered prices.
    unit_amount_decimal = amount_field(null=True, blank=True)
    tiers_mode = models.CharField(
        max_length=10, choices=TiersMode.choices, null=True, blank=True
    )
    recurring_interval = models.CharField(
        max_length=5, choices=Interval.choices, null=True, blank=True
    )
    recurring_interval_count = models.PositiveIntegerField(null=True, blank=True)
    recurring_usage_type = models.CharField(
        max_length=10, choices=UsageType.choices, null=True, blank=True
    )
    recurring_meter = models.ForeignKey(
        "metering.Meter",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="prices",
    )
    recurring_trial_period_days = models.PositiveIntegerField(null=True, blank=True)
    # A metered price may bill one segment of its meter: the events whose
    # dimensions have these values, ``[{"dimension": key, "value": value}]``
    # (Stripe v2's ``meter_segment_conditions``; Tally's ``recurring`` extension).
    recurring_meter_segment_conditions = models.JSONField(default=list, blank=True)
    # Package pricing: bill ceil/floor(quantity / divide_by) units.
    transform_quantity_divide_by = models.PositiveBigIntegerField(null=True, blank=True)
    transform_quantity_round = models.CharField(
        max_length=4, choices=Round.choices, null=True, blank=True
    )
    lookup_key = models.CharField(max_length=200, null=True, blank=True)
    nickname = models.CharField(max_length=250, null=True, blank=True)
    tax_behavior = models.CharField(
        max_length=12, choices=TaxBehavior.choices, default=TaxBehavior.UNSPECIFIED
    )

    class Meta(StripeObject.Meta):
        indexes = [
            *StripeObject.Meta.indexes,
            models.Index(fields=["product", "-created"], name="catalog_price_product"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["livemode", "lookup_key"],
                condition=Q(active=True, lookup_key__isnull=False),
                name="price_lookup_key_unique_active_per_mode",
            ),
            models.CheckConstraint(
                condition=Q(unit_amount_decimal__isnull=True)
                | Q(unit_amount_decimal__gte=0),
                name="price_unit_amount_not_negative",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        billing_scheme="per_unit",
                        unit_amount_decimal__isnull=False,
                        tiers_mode__isnull=True,
                    )
                    | Q(
                        billing_scheme="tiered",
                        unit_amount_decimal__isnull=True,
                        tiers_mode__isnull=False,
                        transform_quantity_divide_by__isnull=True,
                    )
                ),
                name="price_per_unit_or_tiered",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        type="one_time",
                        recurring_interval__isnull=True,
                        recurring_interval_count__isnull=True,
                        recurring_usage_type__isnull=True,
                        recurring_meter__isnull=True,
                    )
                    | Q(
                        type="recurring",
                        recurring_interval__isnull=False,
                        recurring_interval_count__gte=1,
                        recurring_usage_type__isnull=False,
                    )
                ),
                name="price_recurring_terms_match_type",
            ),
            # A metered price names its meter; nothing else has one.
            models.CheckConstraint(
                condition=Q(
                    recurring_usage_type="metered", recurring_meter__isnull=False
                )
                | Q(recurring_usage_type="licensed", recurring_meter__isnull=True)
                | Q(recurring_usage_type__isnull=True, recurring_meter__isnull=True),
                name="price_meter_exactly_when_metered",
            ),
            models.CheckConstraint(
                condition=Q(
                    transform_quantity_divide_by__isnull=True,
                    transform_quantity_round__isnull=True,
                )
                | Q(
                    transform_quantity_divide_by__gte=1,
                    transform_quantity_round__isnull=False,
                ),
                name="price_transform_quantity_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.nickname or self.id

    @property
    def unit_amount(self) -> int | None:
        """The unit amount as an integer of minor units, or None if fractional."""
        value = self.unit_amount_decimal
        if value is None or value != value.to_integral_value():
            return None
        return int(value)

    @property
    def is_metered(self) -> bool:
        return self.recurring_usage_type == self.UsageType.METERED


class PriceTier(models.Model):
    """One tier of a tiered price, in ascending ``up_to`` order; null ``up_to`` is ∞."""

    price = models.ForeignKey(Price, on_delete=models.CASCADE, related_name="tiers")
    position = models.PositiveSmallIntegerField()
    # Last unit of the tier, inclusive; null on the last tier (infinity).
    up_to = models.PositiveBigIntegerField(null=True, blank=True)
    unit_amount_decimal = amount_field(null=True, blank=True)
    flat_amount_decimal = amount_field(null=True, blank=True)

    class Meta:
        ordering = ["price", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["price", "position"], name="price_tier_position_unique"
            ),
            models.CheckConstraint(
                condition=Q(up_to__isnull=True) | Q(up_to__gte=1),
                name="price_tier_up_to_positive",
            ),
            models.CheckConstraint(
                condition=Q(unit_amount_decimal__isnull=True)
                | Q(unit_amount_decimal__gte=0),
                name="price_tier_unit_amount_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(flat_amount_decimal__isnull=True)
                | Q(flat_amount_decimal__gte=0),
                name="price_tier_flat_amount_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.price_id} tier {self.position + 1}"

    @staticmethod
    def whole(value: Decimal | None) -> int | None:
        """Return ``value`` as an integer of minor units, or None if fractional."""
        if value is None or value != value.to_integral_value():
            return None
        return int(value)


class Feature(StripeObject):
    """Something a customer can be entitled to (``feat_``, ``entitlements.feature``).

    ``lookup_key`` is the product's own name for it, unique per mode and never
    changed; an archived feature (``active=False``) attaches to no new product.
    """

    id = models.CharField(primary_key=True, max_length=64, default=id_default("feat"))
    name = models.CharField(max_length=80)
    lookup_key = models.CharField(max_length=80)
    active = models.BooleanField(default=True)
    updated = models.DateTimeField(default=clock.now)

    class Meta(StripeObject.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["livemode", "lookup_key"], name="feature_lookup_key_per_mode"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.lookup_key})"


class ProductFeature(models.Model):
    """A feature attached to a product (``prodft_``, ``product_feature``).

    Subscribing to the product entitles the customer to the feature.
    """

    id = models.CharField(primary_key=True, max_length=64, default=id_default("prodft"))
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="product_features"
    )
    feature = models.ForeignKey(
        Feature, on_delete=models.PROTECT, related_name="product_features"
    )
    livemode = LivemodeField()
    created = models.DateTimeField(default=clock.now, editable=False)

    objects = ModeManager()

    class Meta:
        indexes = [
            models.Index(fields=["-created", "-id"], name="catalog_productfeature_page")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "feature"], name="product_feature_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.feature_id} on {self.product_id}"


# Rate cards live in their own module; imported here so Django finds the models.
from catalog.rate_cards.models import (  # noqa: E402
    MeteredItem,
    RateCard,
    RateCardRate,
    RateCardVersion,
)

__all__ = [
    "Feature",
    "MeteredItem",
    "Price",
    "PriceTier",
    "Product",
    "ProductFeature",
    "RateCard",
    "RateCardRate",
    "RateCardVersion",
]
