"""The parameters of ``/v1/billing/commitments``."""

from __future__ import annotations

from rest_framework import serializers

from catalog.api.serializers import CurrencyField
from core.api.fields import (
    ApiParams,
    ListParams,
    MetadataField,
    StripeInputSerializer,
    UnixTimeField,
)
from core.money import MAX_AMOUNT

TYPES = ["minimum_spend", "prepaid"]


class TermParams(StripeInputSerializer):
    start = UnixTimeField(required=False)
    end = UnixTimeField(required=False)


class MinimumSpendParams(StripeInputSerializer):
    """How a minimum spend meets cut-short periods and what counts towards it."""

    proration = serializers.ChoiceField(
        choices=["first_and_last", "first", "last", "none"], required=False
    )
    spend_scope = serializers.ChoiceField(
        choices=["usage", "all_charges"], required=False
    )


class CommitmentCreateParams(ApiParams):
    type = serializers.ChoiceField(choices=TYPES)
    customer = serializers.CharField(required=False, max_length=64)
    subscription = serializers.CharField(required=False, max_length=64)
    amount = serializers.IntegerField(min_value=1, max_value=MAX_AMOUNT)
    currency = CurrencyField()
    term = TermParams(required=False)
    # Minimum spend only.
    minimum_spend = MinimumSpendParams(required=False)
    description = serializers.CharField(required=False, max_length=500)
    # Prepaid only: add the amount as a pending invoice item (default true).
    bill_prepayment = serializers.BooleanField(required=False, default=True)
    metadata = MetadataField()


class CommitmentListParams(ListParams):
    customer = serializers.CharField(required=False, max_length=64)
    subscription = serializers.CharField(required=False, max_length=64)
    type = serializers.ChoiceField(choices=TYPES, required=False)
