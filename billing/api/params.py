"""Input serializers (Stripe's parameter shapes) for the billing endpoints."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError

from billing.models import Invoice, Subscription
from catalog.api.serializers import CurrencyField
from core.api.fields import (
    ApiParams,
    DecimalStringField,
    ListParams,
    MetadataField,
    RangeFilterField,
    StripeInputSerializer,
    UnixTimeField,
)
from core.money import MAX_AMOUNT

MAX_QUANTITY = 10**12
# Usage in a meter's units: tokens run to billions a day.
MAX_USAGE = 10**15 - 1
_COLLECTION = Subscription.CollectionMethod.choices
_PRORATION = ["create_prorations", "always_invoice", "none"]


class UsageThresholdParams(StripeInputSerializer):
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
    billing_thresholds = UsageThresholdParams(required=False, allow_null=True)
    metadata = MetadataField()
    discounts = serializers.ListField(required=False, max_length=0)
    tax_rates = serializers.ListField(required=False, max_length=0)


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
        choices=["inclusive", "exclusive", "unspecified"], required=False
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
    tax_rates = serializers.ListField(required=False, max_length=0)
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


class SubscriptionCreateParams(ApiParams):
    customer = serializers.CharField(max_length=64)
    items = serializers.ListField(child=ItemParams(), max_length=20)
    billing_cycle_anchor = UnixTimeField(required=False)
    billing_cycle_anchor_config = AnchorConfigParams(required=False)
    backdate_start_date = UnixTimeField(required=False)
    trial_end = UnixTimeField(required=False, allow_now=True)
    trial_period_days = serializers.IntegerField(
        required=False, min_value=0, max_value=730
    )
    trial_from_plan = serializers.BooleanField(required=False)
    cancel_at = UnixTimeField(required=False)
    cancel_at_period_end = serializers.BooleanField(required=False)
    collection_method = serializers.ChoiceField(choices=_COLLECTION, required=False)
    days_until_due = serializers.IntegerField(
        required=False, min_value=0, max_value=730
    )
    billing_thresholds = ThresholdParams(required=False, allow_null=True)
    add_invoice_items = serializers.ListField(
        child=AddInvoiceItemParams(), required=False, max_length=20
    )
    description = serializers.CharField(required=False, max_length=500)
    metadata = MetadataField()
    proration_behavior = serializers.ChoiceField(choices=_PRORATION, required=False)
    payment_behavior = serializers.ChoiceField(
        choices=[
            "allow_incomplete",
            "default_incomplete",
            "error_if_incomplete",
            "pending_if_incomplete",
        ],
        required=False,
    )
    currency = CurrencyField(required=False)
    off_session = serializers.BooleanField(required=False)
    default_payment_method = serializers.CharField(required=False, max_length=255)

    def validate(self, attrs):
        if "billing_cycle_anchor" in attrs and "billing_cycle_anchor_config" in attrs:
            raise _error(
                "billing_cycle_anchor_config",
                "You may only specify one of billing_cycle_anchor and "
                "billing_cycle_anchor_config.",
            )
        if attrs.get("trial_from_plan") and "trial_end" in attrs:
            raise _error(
                "trial_from_plan",
                "You may only specify one of trial_from_plan and trial_end.",
            )
        return attrs


class SubscriptionUpdateParams(ApiParams):
    items = serializers.ListField(
        child=ItemUpdateParams(), required=False, max_length=20
    )
    billing_cycle_anchor = serializers.ChoiceField(
        choices=["now", "unchanged"], required=False
    )
    trial_end = UnixTimeField(required=False, allow_now=True)
    cancel_at = UnixTimeField(required=False, allow_null=True)
    cancel_at_period_end = serializers.BooleanField(required=False)
    collection_method = serializers.ChoiceField(choices=_COLLECTION, required=False)
    days_until_due = serializers.IntegerField(
        required=False, min_value=0, max_value=730, allow_null=True
    )
    billing_thresholds = ThresholdParams(required=False, allow_null=True)
    description = serializers.CharField(required=False, max_length=500, allow_null=True)
    metadata = MetadataField()
    proration_behavior = serializers.ChoiceField(choices=_PRORATION, required=False)
    proration_date = UnixTimeField(required=False)
    payment_behavior = serializers.CharField(required=False, max_length=40)
    cancellation_details = serializers.DictField(required=False)
    off_session = serializers.BooleanField(required=False)


class CancellationDetailsParams(StripeInputSerializer):
    comment = serializers.CharField(required=False, max_length=5000, allow_null=True)
    feedback = serializers.ChoiceField(
        choices=[
            "customer_service",
            "low_quality",
            "missing_features",
            "other",
            "switched_service",
            "too_complex",
            "too_expensive",
            "unused",
        ],
        required=False,
        allow_null=True,
    )


class SubscriptionCancelParams(ApiParams):
    invoice_now = serializers.BooleanField(required=False, default=False)
    prorate = serializers.BooleanField(required=False, default=False)
    cancellation_details = CancellationDetailsParams(required=False)


class SubscriptionListParams(ListParams):
    customer = serializers.CharField(required=False, max_length=64)
    price = serializers.CharField(required=False, max_length=64)
    status = serializers.ChoiceField(
        choices=[*Subscription.Status.values, "all", "ended"], required=False
    )
    test_clock = serializers.CharField(required=False, max_length=64)
    collection_method = serializers.ChoiceField(choices=_COLLECTION, required=False)
    created = RangeFilterField(required=False)
    current_period_start = RangeFilterField(required=False)
    current_period_end = RangeFilterField(required=False)


class SubscriptionItemCreateParams(ApiParams):
    subscription = serializers.CharField(max_length=64)
    price = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_QUANTITY
    )
    billing_thresholds = UsageThresholdParams(required=False, allow_null=True)
    metadata = MetadataField()
    proration_behavior = serializers.ChoiceField(choices=_PRORATION, required=False)
    proration_date = UnixTimeField(required=False)
    payment_behavior = serializers.CharField(required=False, max_length=40)


class SubscriptionItemUpdateParams(ApiParams):
    price = serializers.CharField(required=False, max_length=64)
    quantity = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_QUANTITY
    )
    billing_thresholds = UsageThresholdParams(required=False, allow_null=True)
    metadata = MetadataField()
    proration_behavior = serializers.ChoiceField(choices=_PRORATION, required=False)
    proration_date = UnixTimeField(required=False)
    payment_behavior = serializers.CharField(required=False, max_length=40)
    off_session = serializers.BooleanField(required=False)


class SubscriptionItemDeleteParams(ApiParams):
    proration_behavior = serializers.ChoiceField(choices=_PRORATION, required=False)
    proration_date = UnixTimeField(required=False)
    clear_usage = serializers.BooleanField(required=False)
    payment_behavior = serializers.CharField(required=False, max_length=40)


class SubscriptionItemListParams(ListParams):
    subscription = serializers.CharField(max_length=64)


# ---- invoices ------------------------------------------------------------------


class InvoiceCreateParams(ApiParams):
    customer = serializers.CharField(max_length=64)
    subscription = serializers.CharField(required=False, max_length=64)
    auto_advance = serializers.BooleanField(required=False)
    collection_method = serializers.ChoiceField(choices=_COLLECTION, required=False)
    currency = CurrencyField(required=False)
    days_until_due = serializers.IntegerField(
        required=False, min_value=0, max_value=730
    )
    due_date = UnixTimeField(required=False)
    description = serializers.CharField(required=False, max_length=1500)
    footer = serializers.CharField(required=False, max_length=5000)
    metadata = MetadataField()
    pending_invoice_items_behavior = serializers.ChoiceField(
        choices=["exclude", "include"], required=False
    )


class InvoiceUpdateParams(ApiParams):
    auto_advance = serializers.BooleanField(required=False)
    collection_method = serializers.ChoiceField(choices=_COLLECTION, required=False)
    days_until_due = serializers.IntegerField(
        required=False, min_value=0, max_value=730, allow_null=True
    )
    due_date = UnixTimeField(required=False, allow_null=True)
    description = serializers.CharField(
        required=False, max_length=1500, allow_null=True
    )
    footer = serializers.CharField(required=False, max_length=5000, allow_null=True)
    metadata = MetadataField()


class InvoiceListParams(ListParams):
    customer = serializers.CharField(required=False, max_length=64)
    subscription = serializers.CharField(required=False, max_length=64)
    status = serializers.ChoiceField(choices=Invoice.Status.choices, required=False)
    collection_method = serializers.ChoiceField(choices=_COLLECTION, required=False)
    created = RangeFilterField(required=False)
    due_date = RangeFilterField(required=False)
    test_clock = serializers.CharField(required=False, max_length=64)


class InvoiceFinalizeParams(ApiParams):
    auto_advance = serializers.BooleanField(required=False)


class InvoicePayParams(ApiParams):
    paid_out_of_band = serializers.BooleanField(required=False, default=False)
    forgive = serializers.BooleanField(required=False)
    off_session = serializers.BooleanField(required=False)
    payment_method = serializers.CharField(required=False, max_length=255)
    source = serializers.CharField(required=False, max_length=255)
    mandate = serializers.CharField(required=False, max_length=255)


class LineUpdateParams(ApiParams):
    description = serializers.CharField(required=False, max_length=5000)
    discountable = serializers.BooleanField(required=False)
    metadata = MetadataField()
    period = PeriodParams(required=False)


class PreviewDetailsParams(StripeInputSerializer):
    items = serializers.ListField(
        child=ItemUpdateParams(), required=False, max_length=20
    )
    billing_cycle_anchor = serializers.CharField(required=False, max_length=20)
    cancel_at = UnixTimeField(required=False, allow_null=True)
    cancel_at_period_end = serializers.BooleanField(required=False)
    cancel_now = serializers.BooleanField(required=False)
    proration_behavior = serializers.ChoiceField(choices=_PRORATION, required=False)
    proration_date = UnixTimeField(required=False)
    start_date = UnixTimeField(required=False)
    trial_end = UnixTimeField(required=False, allow_now=True)
    metadata = MetadataField()

    def validate(self, attrs):
        anchor = attrs.get("billing_cycle_anchor")
        if anchor is not None and anchor not in ("now", "unchanged"):
            attrs["billing_cycle_anchor"] = UnixTimeField().to_internal_value(anchor)
        return attrs


class PreviewInvoiceItemParams(InvoiceItemMoneyParams):
    invoiceitem = serializers.CharField(required=False, max_length=64)


class InvoicePreviewParams(ApiParams):
    customer = serializers.CharField(required=False, max_length=64)
    subscription = serializers.CharField(required=False, max_length=64)
    subscription_details = PreviewDetailsParams(required=False)
    invoice_items = serializers.ListField(
        child=PreviewInvoiceItemParams(), required=False, max_length=250
    )
    preview_mode = serializers.ChoiceField(
        choices=["next", "recurring"], required=False
    )
    currency = CurrencyField(required=False)


class UpcomingParams(ApiParams):
    """The legacy ``GET /v1/invoices/upcoming`` flat parameters."""

    customer = serializers.CharField(required=False, max_length=64)
    subscription = serializers.CharField(required=False, max_length=64)
    subscription_items = serializers.ListField(
        child=ItemUpdateParams(), required=False, max_length=20
    )
    subscription_proration_behavior = serializers.ChoiceField(
        choices=_PRORATION, required=False
    )
    subscription_proration_date = UnixTimeField(required=False)
    subscription_cancel_now = serializers.BooleanField(required=False)
    subscription_cancel_at_period_end = serializers.BooleanField(required=False)
    subscription_trial_end = UnixTimeField(required=False, allow_now=True)

    def details(self) -> dict:
        data = self.validated_data
        mapping = {
            "subscription_items": "items",
            "subscription_proration_behavior": "proration_behavior",
            "subscription_proration_date": "proration_date",
            "subscription_cancel_now": "cancel_now",
            "subscription_cancel_at_period_end": "cancel_at_period_end",
            "subscription_trial_end": "trial_end",
        }
        return {new: data[old] for old, new in mapping.items() if old in data}


class InvoiceItemCreateParams(ApiParams, InvoiceItemMoneyParams):
    customer = serializers.CharField(max_length=64)
    invoice = serializers.CharField(required=False, max_length=64)
    subscription = serializers.CharField(required=False, max_length=64)


class InvoiceItemUpdateParams(ApiParams, InvoiceItemMoneyParams):
    pass


class InvoiceItemListParams(ListParams):
    customer = serializers.CharField(required=False, max_length=64)
    invoice = serializers.CharField(required=False, max_length=64)
    pending = serializers.BooleanField(required=False, allow_null=True, default=None)
    created = RangeFilterField(required=False)


def _error(param: str, message: str, *, code: str = "invalid") -> ValidationError:
    return ValidationError({param: [ErrorDetail(message, code=code)]})
