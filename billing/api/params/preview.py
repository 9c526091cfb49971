"""The parameters of invoice previews (``create_preview``, ``upcoming``)."""

from __future__ import annotations

from rest_framework import serializers

from billing.api.params.coupons import discounts_field
from billing.api.params.shapes import (
    _PRORATION,
    InvoiceItemMoneyParams,
    ItemUpdateParams,
)
from billing.api.params.taxes import tax_rates_field
from billing.taxes.tax_ids import TAX_ID_TYPES
from catalog.api.serializers import CurrencyField
from core.api.fields import (
    ApiParams,
    MetadataField,
    StripeInputSerializer,
    UnixTimeField,
)
from core.api.serializers import AddressParams
from core.models import Customer


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
    default_tax_rates = tax_rates_field()

    def validate(self, attrs):
        anchor = attrs.get("billing_cycle_anchor")
        if anchor is not None and anchor not in ("now", "unchanged"):
            attrs["billing_cycle_anchor"] = UnixTimeField().to_internal_value(anchor)
        return attrs


class PreviewInvoiceItemParams(InvoiceItemMoneyParams):
    invoiceitem = serializers.CharField(required=False, max_length=64)


class TaxIdParams(StripeInputSerializer):
    type = serializers.ChoiceField(choices=TAX_ID_TYPES)
    value = serializers.CharField(max_length=64)


class CustomerDetailsParams(StripeInputSerializer):
    """The customer as the preview should take it (``customer_details``)."""

    address = AddressParams(required=False, allow_null=True)
    tax_exempt = serializers.ChoiceField(
        choices=Customer.TaxExempt.choices, required=False, allow_null=True
    )
    tax_ids = serializers.ListField(child=TaxIdParams(), required=False, max_length=25)


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
    customer_details = CustomerDetailsParams(required=False)
    discounts = discounts_field()


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
