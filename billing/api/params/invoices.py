"""The parameters of the invoice, invoice line and invoice item endpoints."""

from __future__ import annotations

from rest_framework import serializers

from billing.api.params.coupons import discounts_field
from billing.api.params.shapes import (
    _COLLECTION,
    InvoiceItemMoneyParams,
    PeriodParams,
)
from billing.api.params.taxes import tax_rates_field
from billing.models import Invoice
from catalog.api.serializers import CurrencyField
from core.api.fields import (
    ApiParams,
    ListParams,
    MetadataField,
    RangeFilterField,
    UnixTimeField,
)


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
    default_tax_rates = tax_rates_field()
    discounts = discounts_field()


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
    default_tax_rates = tax_rates_field()
    discounts = discounts_field()


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
    tax_rates = tax_rates_field()


class InvoiceItemCreateParams(ApiParams, InvoiceItemMoneyParams):
    customer = serializers.CharField(max_length=64)
    invoice = serializers.CharField(required=False, max_length=64)
    subscription = serializers.CharField(required=False, max_length=64)
    discounts = discounts_field()


class InvoiceItemUpdateParams(ApiParams, InvoiceItemMoneyParams):
    discounts = discounts_field()


class InvoiceItemListParams(ListParams):
    customer = serializers.CharField(required=False, max_length=64)
    invoice = serializers.CharField(required=False, max_length=64)
    pending = serializers.BooleanField(required=False, allow_null=True, default=None)
    created = RangeFilterField(required=False)
