"""The parameters of coupons, promotion codes and ``discounts`` entries."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from billing.api.params.shapes import _error
from catalog.api.serializers import CurrencyField
from core.api.fields import (
    ApiParams,
    ListParams,
    MetadataField,
    RangeFilterField,
    StripeInputSerializer,
    UnixTimeField,
)
from core.money import MAX_AMOUNT

MAX_DISCOUNTS = 20


class AppliesToParams(StripeInputSerializer):
    products = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=100
    )


class CouponCreateParams(ApiParams):
    id = serializers.RegexField(
        r"^[A-Za-z0-9_-]{1,64}$",
        required=False,
        error_messages={"invalid": "may use letters, digits, - and _ (≤ 64)."},
    )
    name = serializers.CharField(required=False, max_length=40)
    percent_off = serializers.DecimalField(
        required=False, max_digits=5, decimal_places=2
    )
    amount_off = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_AMOUNT
    )
    currency = CurrencyField(required=False)
    duration = serializers.ChoiceField(
        choices=["once", "repeating", "forever"], required=False, default="once"
    )
    duration_in_months = serializers.IntegerField(
        required=False, min_value=1, max_value=1200
    )
    applies_to = AppliesToParams(required=False)
    max_redemptions = serializers.IntegerField(
        required=False, min_value=1, max_value=2**31 - 1
    )
    redeem_by = UnixTimeField(required=False)
    metadata = MetadataField()

    def validate(self, attrs):
        percent, amount = attrs.get("percent_off"), attrs.get("amount_off")
        if percent is None and amount is None:
            raise _error(
                "percent_off",
                "Must provide either percent_off or amount_off.",
                code="parameter_missing",
            )
        if percent is not None and amount is not None:
            raise _error(
                "amount_off", "You may only specify one of percent_off and amount_off."
            )
        if percent is not None and not Decimal(0) < percent <= Decimal(100):
            raise _error(
                "percent_off",
                "percent_off must be greater than 0 and at most 100.",
            )
        if amount is not None and "currency" not in attrs:
            raise _error(
                "currency",
                "You must pass currency when passing amount_off.",
                code="parameter_missing",
            )
        if amount is None and "currency" in attrs:
            raise _error("currency", "currency can only be set with amount_off.")
        repeating = attrs["duration"] == "repeating"
        if repeating and "duration_in_months" not in attrs:
            raise _error(
                "duration_in_months",
                "duration_in_months is required when duration is repeating.",
                code="parameter_missing",
            )
        if not repeating and "duration_in_months" in attrs:
            raise _error(
                "duration_in_months",
                "duration_in_months can only be set when duration is repeating.",
            )
        return attrs


class CouponUpdateParams(ApiParams):
    name = serializers.CharField(required=False, max_length=40, allow_null=True)
    metadata = MetadataField()


class CouponListParams(ListParams):
    created = RangeFilterField(required=False)


class PromotionParams(StripeInputSerializer):
    type = serializers.ChoiceField(choices=["coupon"])
    coupon = serializers.CharField(max_length=64)


class RestrictionsParams(StripeInputSerializer):
    first_time_transaction = serializers.BooleanField(required=False)
    minimum_amount = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_AMOUNT
    )
    minimum_amount_currency = CurrencyField(required=False)
    currency_options = serializers.DictField(required=False)

    def validate(self, attrs):
        if ("minimum_amount" in attrs) != ("minimum_amount_currency" in attrs):
            raise _error(
                "minimum_amount_currency",
                "minimum_amount and minimum_amount_currency go together.",
                code="parameter_missing",
            )
        return attrs


class PromotionCodeCreateParams(ApiParams):
    code = serializers.RegexField(
        r"^[A-Za-z0-9-]{1,500}$",
        required=False,
        error_messages={"invalid": "may use letters, digits and dashes only."},
    )
    promotion = PromotionParams(required=False)
    coupon = serializers.CharField(required=False, max_length=64)  # before 2025
    customer = serializers.CharField(required=False, max_length=64)
    active = serializers.BooleanField(required=False, default=True)
    expires_at = UnixTimeField(required=False)
    max_redemptions = serializers.IntegerField(
        required=False, min_value=1, max_value=2**31 - 1
    )
    restrictions = RestrictionsParams(required=False)
    metadata = MetadataField()

    def validate(self, attrs):
        promotion = attrs.pop("promotion", None)
        if promotion is not None:
            if "coupon" in attrs:
                raise _error(
                    "coupon", "You may only specify one of coupon and promotion."
                )
            attrs["coupon"] = promotion["coupon"]
        if "coupon" not in attrs:
            raise _error(
                "promotion[coupon]",
                "Missing required param: promotion[coupon].",
                code="parameter_missing",
            )
        return attrs


class PromotionCodeUpdateParams(ApiParams):
    active = serializers.BooleanField(required=False)
    metadata = MetadataField()
    restrictions = RestrictionsParams(required=False)


class PromotionCodeListParams(ListParams):
    active = serializers.BooleanField(required=False, allow_null=True, default=None)
    code = serializers.CharField(required=False, max_length=500)
    coupon = serializers.CharField(required=False, max_length=64)
    customer = serializers.CharField(required=False, max_length=64)
    created = RangeFilterField(required=False)


class DiscountEntryParams(StripeInputSerializer):
    """One ``discounts[]`` entry: a coupon, a promotion code or a discount."""

    coupon = serializers.CharField(required=False, max_length=64)
    promotion_code = serializers.CharField(required=False, max_length=64)
    discount = serializers.CharField(required=False, max_length=64)

    def validate(self, attrs):
        given = [
            key for key in ("coupon", "promotion_code", "discount") if key in attrs
        ]
        if len(given) != 1:
            raise _error(
                given[1] if given else "coupon",
                "Each discount takes exactly one of coupon, promotion_code and "
                "discount.",
            )
        return attrs


def discounts_field() -> serializers.ListField:
    """Stripe's ``discounts``: up to 20 entries; ``""`` clears them."""
    return serializers.ListField(
        child=DiscountEntryParams(),
        required=False,
        allow_null=True,
        allow_empty=True,
        max_length=MAX_DISCOUNTS,
    )
