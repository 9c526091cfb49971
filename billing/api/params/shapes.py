"""The nested parameter shapes several billing endpoints share (items, prices,
periods, thresholds, invoice item amounts), their limits and their error.
"""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError

from billing.api.params.taxes import tax_rates_field
from billing.models import Subscription
from catalog.api.serializers import CurrencyField
from catalog.models import Price
from core.api.fields import (
    DecimalStringField,
    MetadataField,
    StripeInputSerializer,
    UnixTimeField,
)
from core.money import MAX_AMOUNT

MAX_QUANTITY = 10**12


# Usage in a meter's units: tokens run to billions a day.
MAX_USAGE = 10**15 - 1


_COLLECTION = Subscription.CollectionMethod.choices


_PRORATION = ["create_prorations", "always_invoice", "none"]


class ItemBillingThresholdsParams(StripeInputSerializer):
    usage_gte = serializers.IntegerField(min_value=1, max_value=MAX_USAGE)


class ThresholdParams(StripeInputSerializer):
    amount_gte = serializers.IntegerField(min_value=1, max_value=MAX_AMOUNT)
    reset_billing_cycle_anchor = serializers.BooleanField(required=False)


class AnchorConfigParams(StripeInputSerializer):
    day_of_month = serializers.IntegerField(min_value=1, max_value=31)
    hour = serializers.IntegerField(required=False, min_value=0, max_value=23)
    minute = serializers.IntegerField(required=False, min_value=0, max_value=59)
    second = serializers.IntegerField(required=False, min_value=0, max_value=59)
    month = serializers.IntegerField(required=False, min_value=1, max_value=12)


class ItemParams(StripeInputSerializer):
    price = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_QUANTITY
    )
    billing_thresholds = ItemBillingThresholdsParams(required=False, allow_null=True)
    metadata = MetadataField()
    discounts = serializers.ListField(required=False, max_length=0)
    tax_rates = tax_rates_field()


class ItemUpdateParams(ItemParams):
    id = serializers.CharField(required=False, max_length=64)
    price = serializers.CharField(required=False, max_length=64)
    deleted = serializers.BooleanField(required=False)
    clear_usage = serializers.BooleanField(required=False)


class PriceDataParams(StripeInputSerializer):
    currency = CurrencyField()
    product = serializers.CharField(max_length=64)
    unit_amount = serializers.IntegerField(required=False, min_value=0)
    unit_amount_decimal = DecimalStringField(required=False)
    tax_behavior = serializers.ChoiceField(
        choices=Price.TaxBehavior.choices, required=False
    )

    def validate(self, attrs):
        if "unit_amount" in attrs and "unit_amount_decimal" in attrs:
            raise _error(
                "unit_amount_decimal",
                "You may only specify one of unit_amount and unit_amount_decimal.",
            )
        if "unit_amount" not in attrs and "unit_amount_decimal" not in attrs:
            raise _error("unit_amount", "Missing unit_amount.", code="required")
        if "unit_amount_decimal" in attrs:
            attrs["unit_amount"] = attrs.pop("unit_amount_decimal")
        return attrs


class PeriodParams(StripeInputSerializer):
    start = UnixTimeField()
    end = UnixTimeField()

    def validate(self, attrs):
        if attrs["start"] > attrs["end"]:
            raise _error("end", "The period end must not be before its start.")
        return attrs


class PricingParams(StripeInputSerializer):
    price = serializers.CharField(max_length=64)


class InvoiceItemMoneyParams(StripeInputSerializer):
    """Ways to price an item: amount, pricing[price], price_data, unit amount."""

    amount = serializers.IntegerField(required=False)
    currency = CurrencyField(required=False)
    pricing = PricingParams(required=False)
    price = serializers.CharField(required=False, max_length=64)
    price_data = PriceDataParams(required=False)
    quantity = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_QUANTITY
    )
    quantity_decimal = DecimalStringField(required=False)
    unit_amount_decimal = DecimalStringField(required=False)
    description = serializers.CharField(required=False, max_length=5000)
    discountable = serializers.BooleanField(required=False)
    metadata = MetadataField()
    period = PeriodParams(required=False)
    tax_rates = tax_rates_field()
    tax_behavior = serializers.CharField(required=False, max_length=20)

    def validate(self, attrs):
        pricing = attrs.pop("pricing", None)
        if pricing:
            attrs["price"] = pricing["price"]
        ways = [key for key in ("amount", "price", "price_data") if key in attrs]
        if "unit_amount_decimal" in attrs and "price_data" not in attrs:
            ways.append("unit_amount_decimal")
        if len(ways) > 1:
            raise _error(ways[1], f"You may only specify one of {' and '.join(ways)}.")
        if "quantity" in attrs and "quantity_decimal" in attrs:
            raise _error(
                "quantity_decimal",
                "You may only specify one of quantity and quantity_decimal.",
            )
        return attrs


class AddInvoiceItemParams(InvoiceItemMoneyParams):
    pass


def _error(param: str, message: str, *, code: str = "invalid") -> ValidationError:
    return ValidationError({param: [ErrorDetail(message, code=code)]})
