"""The parameters of ``/v1/tax_rates`` and ``/v1/customers/{id}/tax_ids``."""

from __future__ import annotations

from rest_framework import serializers

from billing.taxes.rates import MAX_RATES
from billing.taxes.tax_ids import TAX_ID_TYPES
from core.api.fields import (
    ApiParams,
    DecimalStringField,
    ListParams,
    MetadataField,
    RangeFilterField,
)

TAX_TYPES = (
    "admissions_tax amusement_tax attendance_tax communications_tax "
    "digital_excise_tax entertainment_tax get_fund gross_receipts_tax gst "
    "hospitality_tax hst igst jct lease_tax luxury_tax mass_transit_parking_tax "
    "nhil parking_tax pst qst resort_tax retail_delivery_fee rst sales_tax "
    "service_tax tourism_tax utility_users_tax vat"
).split()


def tax_rates_field() -> serializers.ListField:
    """``tax_rates`` / ``default_tax_rates``: rate ids; ``""`` clears."""
    return serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        allow_null=True,
        max_length=MAX_RATES,
    )


class _TaxRateFields(ApiParams):
    active = serializers.BooleanField(required=False)
    country = serializers.CharField(required=False, allow_null=True, max_length=2)
    description = serializers.CharField(
        required=False, allow_null=True, max_length=5000
    )
    jurisdiction = serializers.CharField(required=False, allow_null=True, max_length=50)
    metadata = MetadataField()
    state = serializers.CharField(required=False, allow_null=True, max_length=20)
    tax_type = serializers.ChoiceField(
        choices=TAX_TYPES, required=False, allow_null=True
    )

    def validate_country(self, value):
        return value.upper() if value else value


class TaxRateCreateParams(_TaxRateFields):
    display_name = serializers.CharField(max_length=50)
    inclusive = serializers.BooleanField()
    percentage = DecimalStringField(places=4)


class TaxRateUpdateParams(_TaxRateFields):
    display_name = serializers.CharField(required=False, max_length=50)
    # Tally: accepted until a finalized invoice has used the rate.
    inclusive = serializers.BooleanField(required=False)
    percentage = DecimalStringField(places=4, required=False)


class TaxRateListParams(ListParams):
    active = serializers.BooleanField(required=False, allow_null=True, default=None)
    inclusive = serializers.BooleanField(required=False, allow_null=True, default=None)
    created = RangeFilterField(required=False)


class TaxIdCreateParams(ApiParams):
    type = serializers.ChoiceField(choices=TAX_ID_TYPES)
    value = serializers.CharField(max_length=64)
