"""Prices: their input parameters (create, update, list) and their output shape."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.api.serializers.fields import (
    CurrencyField,
    UpToField,
)
from catalog.models import Price, PriceTier
from catalog.services.terms import MAX_QUANTITY, MAX_TIERS, MAX_TRIAL_PERIOD_DAYS
from core.api.fields import (
    ApiParams,
    ConstField,
    DecimalStringField,
    ListParams,
    MetadataField,
    ObjectSerializer,
    RangeFilterField,
    StripeInputSerializer,
    decimal_string,
    unix,
)


class TierParams(StripeInputSerializer):
    up_to = UpToField()
    unit_amount = serializers.IntegerField(required=False, min_value=0)
    unit_amount_decimal = DecimalStringField(required=False)
    flat_amount = serializers.IntegerField(required=False, min_value=0)
    flat_amount_decimal = DecimalStringField(required=False)


class TransformQuantityParams(StripeInputSerializer):
    divide_by = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    round = serializers.ChoiceField(choices=Price.Round.choices)


class SegmentConditionParams(StripeInputSerializer):
    dimension = serializers.CharField(max_length=100)
    value = serializers.CharField(max_length=500, allow_blank=True)


class RecurringParams(StripeInputSerializer):
    """``recurring``; ``meter_segment_conditions`` is Tally's extension (Stripe v2's
    metered items' name): the price bills only its meter's events with these
    dimension values."""

    interval = serializers.ChoiceField(choices=Price.Interval.choices)
    interval_count = serializers.IntegerField(required=False, min_value=1)
    usage_type = serializers.ChoiceField(
        choices=Price.UsageType.choices, required=False
    )
    meter = serializers.CharField(required=False, max_length=64)
    meter_segment_conditions = serializers.ListField(
        child=SegmentConditionParams(), required=False, max_length=10
    )
    trial_period_days = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_TRIAL_PERIOD_DAYS
    )


class ProductDataParams(StripeInputSerializer):
    name = serializers.CharField(max_length=250)
    active = serializers.BooleanField(required=False)
    metadata = MetadataField()
    statement_descriptor = serializers.CharField(required=False, max_length=22)
    tax_code = serializers.CharField(required=False, max_length=64)
    unit_label = serializers.CharField(required=False, max_length=12)


class PriceCreateParams(ApiParams):
    currency = CurrencyField()
    product = serializers.CharField(required=False, max_length=64)
    product_data = ProductDataParams(required=False)
    unit_amount = serializers.IntegerField(required=False, min_value=0)
    unit_amount_decimal = DecimalStringField(required=False)
    billing_scheme = serializers.ChoiceField(
        choices=Price.BillingScheme.choices, required=False
    )
    tiers = serializers.ListField(
        child=TierParams(), required=False, max_length=MAX_TIERS
    )
    tiers_mode = serializers.ChoiceField(
        choices=Price.TiersMode.choices, required=False
    )
    transform_quantity = TransformQuantityParams(required=False)
    recurring = RecurringParams(required=False)
    lookup_key = serializers.CharField(required=False, max_length=200)
    transfer_lookup_key = serializers.BooleanField(required=False)
    nickname = serializers.CharField(required=False, max_length=250)
    active = serializers.BooleanField(required=False)
    metadata = MetadataField()
    tax_behavior = serializers.ChoiceField(
        choices=Price.TaxBehavior.choices, required=False
    )


class PriceUpdateParams(ApiParams):
    active = serializers.BooleanField(required=False)
    lookup_key = serializers.CharField(required=False, allow_null=True, max_length=200)
    transfer_lookup_key = serializers.BooleanField(required=False)
    nickname = serializers.CharField(required=False, allow_null=True, max_length=250)
    metadata = MetadataField()
    tax_behavior = serializers.ChoiceField(
        choices=Price.TaxBehavior.choices, required=False
    )


class RecurringFilterParams(StripeInputSerializer):
    interval = serializers.ChoiceField(choices=Price.Interval.choices, required=False)
    meter = serializers.CharField(required=False, max_length=64)
    usage_type = serializers.ChoiceField(
        choices=Price.UsageType.choices, required=False
    )


class PriceListParams(ListParams):
    active = serializers.BooleanField(required=False, allow_null=True, default=None)
    currency = CurrencyField(required=False)
    product = serializers.CharField(required=False, max_length=64)
    type = serializers.ChoiceField(choices=Price.Type.choices, required=False)
    lookup_keys = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, max_length=10
    )
    recurring = RecurringFilterParams(required=False)
    created = RangeFilterField(required=False)


class TierSerializer(serializers.Serializer):
    flat_amount = serializers.SerializerMethodField()
    flat_amount_decimal = serializers.SerializerMethodField()
    unit_amount = serializers.SerializerMethodField()
    unit_amount_decimal = serializers.SerializerMethodField()
    up_to = serializers.IntegerField(read_only=True, allow_null=True)

    def get_flat_amount(self, tier: PriceTier) -> int | None:
        return PriceTier.whole(tier.flat_amount_decimal)

    def get_flat_amount_decimal(self, tier: PriceTier) -> str | None:
        return decimal_string(tier.flat_amount_decimal)

    def get_unit_amount(self, tier: PriceTier) -> int | None:
        return PriceTier.whole(tier.unit_amount_decimal)

    def get_unit_amount_decimal(self, tier: PriceTier) -> str | None:
        return decimal_string(tier.unit_amount_decimal)


class RecurringSerializer(serializers.Serializer):
    interval = serializers.CharField(source="recurring_interval")
    interval_count = serializers.IntegerField(source="recurring_interval_count")
    meter = serializers.CharField(source="recurring_meter_id", allow_null=True)
    trial_period_days = serializers.IntegerField(
        source="recurring_trial_period_days", allow_null=True
    )
    usage_type = serializers.CharField(source="recurring_usage_type")


class TransformQuantitySerializer(serializers.Serializer):
    divide_by = serializers.IntegerField(source="transform_quantity_divide_by")
    round = serializers.CharField(source="transform_quantity_round")


class PriceSerializer(ObjectSerializer):
    """A price; ``tiers`` only when ``expand[]=tiers`` asks for them, as Stripe does."""

    object = ConstField("price")
    active = serializers.BooleanField(read_only=True)
    billing_scheme = serializers.CharField(read_only=True)
    currency = serializers.CharField(read_only=True)
    custom_unit_amount = serializers.SerializerMethodField()
    lookup_key = serializers.CharField(read_only=True, allow_null=True)
    metadata = serializers.DictField(read_only=True)
    nickname = serializers.CharField(read_only=True, allow_null=True)
    product = serializers.CharField(source="product_id", read_only=True)
    recurring = serializers.SerializerMethodField()
    tax_behavior = serializers.CharField(read_only=True)
    tiers = serializers.SerializerMethodField()
    tiers_mode = serializers.CharField(read_only=True, allow_null=True)
    transform_quantity = serializers.SerializerMethodField()
    type = serializers.CharField(read_only=True)
    unit_amount = serializers.IntegerField(read_only=True, allow_null=True)
    unit_amount_decimal = serializers.SerializerMethodField()

    def _wants_tiers(self) -> bool:
        return "tiers" in self.context.get("expand", ())

    @extend_schema_field({"type": "object", "nullable": True})
    def get_custom_unit_amount(self, price: Price) -> None:
        return None

    @extend_schema_field(RecurringSerializer(allow_null=True))
    def get_recurring(self, price: Price) -> dict | None:
        if price.type != Price.Type.RECURRING:
            return None
        recurring = {
            "interval": price.recurring_interval,
            "interval_count": price.recurring_interval_count,
            "meter": price.recurring_meter_id,
            "trial_period_days": price.recurring_trial_period_days,
            "usage_type": price.recurring_usage_type,
        }
        if price.recurring_meter_segment_conditions:
            # Tally's extension: shown only on prices that bill a segment.
            recurring["meter_segment_conditions"] = list(
                price.recurring_meter_segment_conditions
            )
        return recurring

    @extend_schema_field(TierSerializer(many=True, required=False))
    def get_tiers(self, price: Price) -> list:
        # A per-unit price has no tiers; an empty list keeps expand[]=tiers valid.
        if price.billing_scheme != Price.BillingScheme.TIERED:
            return []
        return [
            {
                "flat_amount": PriceTier.whole(tier.flat_amount_decimal),
                "flat_amount_decimal": decimal_string(tier.flat_amount_decimal),
                "unit_amount": PriceTier.whole(tier.unit_amount_decimal),
                "unit_amount_decimal": decimal_string(tier.unit_amount_decimal),
                "up_to": tier.up_to,
            }
            for tier in price.tiers.all()
        ]

    @extend_schema_field(TransformQuantitySerializer(allow_null=True))
    def get_transform_quantity(self, price: Price) -> dict | None:
        if price.transform_quantity_divide_by is None:
            return None
        return {
            "divide_by": price.transform_quantity_divide_by,
            "round": price.transform_quantity_round,
        }

    def get_unit_amount_decimal(self, price: Price) -> str | None:
        return decimal_string(price.unit_amount_decimal)

    def to_representation(self, price: Price) -> dict:
        # Built directly: DRF's per-field copying costs about 2 ms a price, which
        # adds up on lists of 100. The declared fields document the same shape.
        data = {
            "id": price.id,
            "object": "price",
            "created": unix(price.created),
            "livemode": price.livemode,
            "active": price.active,
            "billing_scheme": price.billing_scheme,
            "currency": price.currency,
            "custom_unit_amount": None,
            "lookup_key": price.lookup_key,
            "metadata": price.metadata,
            "nickname": price.nickname,
            "product": price.product_id,
            "recurring": self.get_recurring(price),
            "tax_behavior": price.tax_behavior,
        }
        if self._wants_tiers():
            data["tiers"] = self.get_tiers(price)
        data.update(
            tiers_mode=price.tiers_mode,
            transform_quantity=self.get_transform_quantity(price),
            type=price.type,
            unit_amount=price.unit_amount,
            unit_amount_decimal=self.get_unit_amount_decimal(price),
        )
        return data
