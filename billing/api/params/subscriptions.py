"""The parameters of the subscription and subscription item endpoints."""

from __future__ import annotations

from rest_framework import serializers

from billing.api.params.coupons import discounts_field
from billing.api.params.shapes import (
    _COLLECTION,
    _PRORATION,
    MAX_QUANTITY,
    AddInvoiceItemParams,
    AnchorConfigParams,
    ItemBillingThresholdsParams,
    ItemParams,
    ItemUpdateParams,
    ThresholdParams,
    _error,
)
from billing.api.params.taxes import tax_rates_field
from billing.models import Subscription
from catalog.api.serializers import CurrencyField
from core.api.fields import (
    ApiParams,
    ListParams,
    MetadataField,
    RangeFilterField,
    StripeInputSerializer,
    UnixTimeField,
)


class SubscriptionCreateParams(ApiParams):
    customer = serializers.CharField(max_length=64)
    # Required unless ``rate_card`` gives the items (checked by the service).
    items = serializers.ListField(child=ItemParams(), max_length=20, required=False)
    # Tally extension: follow a rate card, pinned to a version or "latest".
    rate_card = serializers.CharField(max_length=64, required=False)
    rate_card_version = serializers.CharField(max_length=64, required=False)
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
    default_tax_rates = tax_rates_field()
    discounts = discounts_field()

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
    default_payment_method = serializers.CharField(
        required=False, allow_null=True, max_length=255
    )
    default_tax_rates = tax_rates_field()
    discounts = discounts_field()


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
    billing_thresholds = ItemBillingThresholdsParams(required=False, allow_null=True)
    metadata = MetadataField()
    proration_behavior = serializers.ChoiceField(choices=_PRORATION, required=False)
    proration_date = UnixTimeField(required=False)
    payment_behavior = serializers.CharField(required=False, max_length=40)
    tax_rates = tax_rates_field()


class SubscriptionItemUpdateParams(ApiParams):
    price = serializers.CharField(required=False, max_length=64)
    quantity = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_QUANTITY
    )
    billing_thresholds = ItemBillingThresholdsParams(required=False, allow_null=True)
    metadata = MetadataField()
    proration_behavior = serializers.ChoiceField(choices=_PRORATION, required=False)
    proration_date = UnixTimeField(required=False)
    payment_behavior = serializers.CharField(required=False, max_length=40)
    off_session = serializers.BooleanField(required=False)
    tax_rates = tax_rates_field()


class SubscriptionItemDeleteParams(ApiParams):
    proration_behavior = serializers.ChoiceField(choices=_PRORATION, required=False)
    proration_date = UnixTimeField(required=False)
    clear_usage = serializers.BooleanField(required=False)
    payment_behavior = serializers.CharField(required=False, max_length=40)


class SubscriptionItemListParams(ListParams):
    subscription = serializers.CharField(max_length=64)
