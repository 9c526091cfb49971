"""Products: their input parameters (create, update, list, ``default_price_data``)
and their output shape.
"""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError

from catalog.api.serializers.fields import (
    PRODUCT_ID_PATTERN,
    CurrencyField,
)
from catalog.models import Price, Product
from core.api.fields import (
    ApiParams,
    ConstField,
    DecimalStringField,
    ListParams,
    MetadataField,
    ObjectSerializer,
    RangeFilterField,
    StripeInputSerializer,
    UnixField,
)


class MarketingFeatureParams(StripeInputSerializer):
    name = serializers.CharField(max_length=80)


class PackageDimensionsParams(StripeInputSerializer):
    height = serializers.FloatField(min_value=0)
    length = serializers.FloatField(min_value=0)
    weight = serializers.FloatField(min_value=0)
    width = serializers.FloatField(min_value=0)


class DefaultPriceRecurringParams(StripeInputSerializer):
    interval = serializers.ChoiceField(choices=Price.Interval.choices)
    interval_count = serializers.IntegerField(required=False, min_value=1)


class DefaultPriceDataParams(StripeInputSerializer):
    currency = CurrencyField()
    unit_amount = serializers.IntegerField(required=False, min_value=0)
    unit_amount_decimal = DecimalStringField(required=False)
    recurring = DefaultPriceRecurringParams(required=False)
    tax_behavior = serializers.ChoiceField(
        choices=Price.TaxBehavior.choices, required=False
    )
    metadata = MetadataField()


class ProductParams(ApiParams):
    """Fields a product update accepts (creation adds a few)."""

    name = serializers.CharField(required=False, max_length=250)
    active = serializers.BooleanField(required=False)
    description = serializers.CharField(
        required=False, allow_null=True, max_length=40000
    )
    metadata = MetadataField()
    unit_label = serializers.CharField(required=False, allow_null=True, max_length=12)
    statement_descriptor = serializers.CharField(
        required=False, allow_null=True, max_length=22
    )
    tax_code = serializers.CharField(required=False, allow_null=True, max_length=64)
    url = serializers.URLField(required=False, allow_null=True, max_length=2048)
    images = serializers.ListField(
        child=serializers.URLField(max_length=2048),
        required=False,
        allow_null=True,
        max_length=8,
    )
    marketing_features = serializers.ListField(
        child=MarketingFeatureParams(), required=False, allow_null=True, max_length=15
    )
    shippable = serializers.BooleanField(required=False, allow_null=True)
    package_dimensions = PackageDimensionsParams(required=False, allow_null=True)


class ProductCreateParams(ProductParams):
    id = serializers.RegexField(
        PRODUCT_ID_PATTERN,
        required=False,
        error_messages={
            "invalid": "may only hold letters, digits, '_' and '-' (at most 64)."
        },
    )
    name = serializers.CharField(max_length=250)
    type = serializers.ChoiceField(choices=Product.Type.choices, required=False)
    default_price_data = DefaultPriceDataParams(required=False)


class ProductUpdateParams(ProductParams):
    default_price = serializers.CharField(
        required=False, allow_null=True, max_length=64
    )


class ProductListParams(ListParams):
    active = serializers.BooleanField(required=False, allow_null=True, default=None)
    created = RangeFilterField(required=False)
    ids = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=100
    )
    shippable = serializers.BooleanField(required=False, allow_null=True, default=None)
    type = serializers.ChoiceField(choices=Product.Type.choices, required=False)
    url = serializers.CharField(required=False, max_length=2048)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs.get("ids") and (
            attrs.get("starting_after") or attrs.get("ending_before")
        ):
            raise ValidationError(
                {
                    "ids": [
                        ErrorDetail(
                            "ids cannot be combined with starting_after or "
                            "ending_before.",
                            code="parameters_exclusive",
                        )
                    ]
                }
            )
        return attrs


class ProductSerializer(ObjectSerializer):
    object = ConstField("product")
    active = serializers.BooleanField(read_only=True)
    default_price = serializers.CharField(
        source="default_price_id", read_only=True, allow_null=True
    )
    description = serializers.CharField(read_only=True, allow_null=True)
    images = serializers.ListField(read_only=True)
    marketing_features = serializers.ListField(read_only=True)
    metadata = serializers.DictField(read_only=True)
    name = serializers.CharField(read_only=True)
    package_dimensions = serializers.JSONField(read_only=True, allow_null=True)
    shippable = serializers.BooleanField(read_only=True, allow_null=True)
    statement_descriptor = serializers.CharField(read_only=True, allow_null=True)
    tax_code = serializers.CharField(read_only=True, allow_null=True)
    type = serializers.CharField(read_only=True)
    unit_label = serializers.CharField(read_only=True, allow_null=True)
    updated = UnixField()
    url = serializers.CharField(read_only=True, allow_null=True)
