"""The parameters of ``/v1/credit_notes`` (create, preview, list, update)."""

from __future__ import annotations

from rest_framework import serializers

from billing.models import CreditNote, CreditNoteLineItem
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

_amount = {"required": False, "min_value": 0, "max_value": MAX_AMOUNT}


class CreditNoteLineParams(StripeInputSerializer):
    type = serializers.ChoiceField(choices=CreditNoteLineItem.Type.choices)
    invoice_line_item = serializers.CharField(required=False, max_length=64)
    quantity = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_AMOUNT
    )
    amount = serializers.IntegerField(required=False, min_value=1, max_value=MAX_AMOUNT)
    description = serializers.CharField(required=False, max_length=5000)
    unit_amount = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_AMOUNT
    )
    unit_amount_decimal = DecimalStringField(required=False)
    metadata = MetadataField()


class CreditNoteParams(ApiParams):
    """Create and preview: what to credit, and where the credit goes."""

    invoice = serializers.CharField(max_length=64)
    lines = serializers.ListField(
        child=CreditNoteLineParams(), required=False, max_length=100
    )
    amount = serializers.IntegerField(required=False, min_value=1, max_value=MAX_AMOUNT)
    credit_amount = serializers.IntegerField(**_amount)
    refund_amount = serializers.IntegerField(**_amount)
    out_of_band_amount = serializers.IntegerField(**_amount)
    reason = serializers.ChoiceField(choices=CreditNote.Reason.choices, required=False)
    memo = serializers.CharField(required=False, max_length=5000)
    effective_at = UnixTimeField(required=False)
    email_type = serializers.ChoiceField(
        choices=["credit_note", "none"], required=False
    )
    metadata = MetadataField()


class CreditNotePreviewLinesParams(CreditNoteParams):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=10)
    starting_after = serializers.CharField(required=False, max_length=255)
    ending_before = serializers.CharField(required=False, max_length=255)


class CreditNoteUpdateParams(ApiParams):
    memo = serializers.CharField(required=False, allow_null=True, max_length=5000)
    metadata = MetadataField()


class CreditNoteListParams(ListParams):
    invoice = serializers.CharField(required=False, max_length=64)
    customer = serializers.CharField(required=False, max_length=64)
    created = RangeFilterField(required=False)
