"""The v2 shapes of metered items, rate cards, versions and rates (Stripe's names).

Amounts are decimal strings in minor units, times RFC 3339 strings (v2). Tally
extensions: a version's ``number``, ``status`` (draft|published) and
``published_at``; a rate's ``rate_card_version`` on create.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from catalog.api.serializers import CurrencyField
from catalog.models import MeteredItem, RateCard, RateCardRate, RateCardVersion
from catalog.services.terms import MAX_QUANTITY
from core.api.fields import DecimalStringField, MetadataField, decimal_string
from core.api.v2 import rfc3339

MAX_CONDITIONS = 10

# ---- input ---------------------------------------------------------------------


class ConditionParams(serializers.Serializer):
    dimension = serializers.CharField(max_length=100)
    value = serializers.CharField(max_length=200, allow_blank=True)


class MeteredItemCreateParams(serializers.Serializer):
    display_name = serializers.CharField(max_length=250)
    meter = serializers.CharField(max_length=64)
    meter_segment_conditions = serializers.ListField(
        child=ConditionParams(), required=False, max_length=MAX_CONDITIONS
    )
    unit_label = serializers.CharField(max_length=100, required=False)
    lookup_key = serializers.CharField(max_length=200, required=False)
    metadata = MetadataField()


class MeteredItemUpdateParams(serializers.Serializer):
    display_name = serializers.CharField(max_length=250, required=False)
    unit_label = serializers.CharField(max_length=100, required=False, allow_null=True)
    lookup_key = serializers.CharField(max_length=200, required=False, allow_null=True)
    metadata = MetadataField()


class RateCardCreateParams(serializers.Serializer):
    display_name = serializers.CharField(max_length=250)
    currency = CurrencyField()
    service_interval = serializers.ChoiceField(choices=RateCard.ServiceInterval.values)
    service_interval_count = serializers.IntegerField(
        required=False, min_value=1, max_value=1095
    )
    # exclusive | inclusive (a plain string: an enum would clash in the OpenAPI
    # document with the v1 price's tax_behavior, which also takes unspecified).
    tax_behavior = serializers.CharField(max_length=9, required=False)
    lookup_key = serializers.CharField(max_length=200, required=False)
    metadata = MetadataField()

    def validate_tax_behavior(self, value: str) -> str:
        if value not in RateCard.TaxBehavior.values:
            raise serializers.ValidationError("must be exclusive or inclusive.")
        return value


class RateCardUpdateParams(serializers.Serializer):
    display_name = serializers.CharField(max_length=250, required=False)
    active = serializers.BooleanField(required=False)
    lookup_key = serializers.CharField(max_length=200, required=False, allow_null=True)
    metadata = MetadataField()


class RateTierParams(serializers.Serializer):
    up_to_decimal = DecimalStringField(places=0, required=False)
    up_to_inf = serializers.ChoiceField(choices=["inf"], required=False)
    unit_amount = DecimalStringField(required=False)
    flat_amount = DecimalStringField(required=False)

    def validate(self, attrs):
        if ("up_to_decimal" in attrs) == ("up_to_inf" in attrs):
            raise serializers.ValidationError(
                "Give exactly one of up_to_decimal and up_to_inf."
            )
        if not 1 <= attrs.get("up_to_decimal", 1) <= MAX_QUANTITY:
            raise serializers.ValidationError(
                f"up_to_decimal must be a whole number from 1 to {MAX_QUANTITY}."
            )
        return {
            "up_to": int(attrs["up_to_decimal"]) if "up_to_decimal" in attrs else None,
            "unit_amount": attrs.get("unit_amount"),
            "flat_amount": attrs.get("flat_amount"),
        }


class RateTransformQuantityParams(serializers.Serializer):
    divide_by = serializers.IntegerField(min_value=1, max_value=10**15 - 1)
    round = serializers.ChoiceField(choices=["up", "down"])


class RateCreateParams(serializers.Serializer):
    metered_item = serializers.CharField(max_length=64)
    unit_amount = DecimalStringField(required=False)
    tiering_mode = serializers.ChoiceField(
        choices=["graduated", "volume"], required=False
    )
    tiers = serializers.ListField(
        child=RateTierParams(), required=False, max_length=250
    )
    transform_quantity = RateTransformQuantityParams(required=False)
    metadata = MetadataField()
    # Tally extension: name the version to change (only a draft may change).
    rate_card_version = serializers.CharField(max_length=64, required=False)


# ---- output --------------------------------------------------------------------


def metered_item(item: MeteredItem) -> dict[str, Any]:
    return {
        "id": item.pk,
        "object": "v2.billing.metered_item",
        "created": rfc3339(item.created),
        "display_name": item.display_name,
        "invoice_presentation_dimensions": [],
        "livemode": item.livemode,
        "lookup_key": item.lookup_key,
        "metadata": dict(item.metadata),
        "meter": item.meter_id,
        "meter_segment_conditions": list(item.meter_segment_conditions),
        "tax_details": None,
        "unit_label": item.unit_label,
    }


def rate_card(card: RateCard) -> dict[str, Any]:
    return {
        "id": card.pk,
        "object": "v2.billing.rate_card",
        "active": card.active,
        "created": rfc3339(card.created),
        "currency": card.currency,
        "display_name": card.display_name,
        "latest_version": card.latest_version_id,
        "live_version": card.live_version_id,
        "livemode": card.livemode,
        "lookup_key": card.lookup_key,
        "metadata": dict(card.metadata),
        "service_interval": card.service_interval,
        "service_interval_count": card.service_interval_count,
        "tax_behavior": card.tax_behavior,
    }


def rate_card_version(version: RateCardVersion) -> dict[str, Any]:
    return {
        "id": version.pk,
        "object": "v2.billing.rate_card_version",
        "created": rfc3339(version.created),
        "livemode": version.livemode,
        "rate_card_id": version.rate_card_id,
        "number": version.number,
        "status": "published" if version.is_published else "draft",
        "published_at": rfc3339(version.published_at),
    }


def _tiers(price) -> list[dict[str, Any]]:
    return [
        {
            "flat_amount": decimal_string(tier.flat_amount_decimal),
            "unit_amount": decimal_string(tier.unit_amount_decimal),
            "up_to_decimal": None if tier.up_to is None else str(tier.up_to),
            "up_to_inf": "inf" if tier.up_to is None else None,
        }
        for tier in sorted(price.tiers.all(), key=lambda tier: tier.position)
    ]


def rate(rate: RateCardRate) -> dict[str, Any]:
    price = rate.price
    transform = None
    if price.transform_quantity_divide_by:
        transform = {
            "divide_by": price.transform_quantity_divide_by,
            "round": price.transform_quantity_round,
        }
    return {
        "id": rate.pk,
        "object": "v2.billing.rate_card_rate",
        "created": rfc3339(rate.created),
        "custom_pricing_unit_amount": None,
        "livemode": rate.livemode,
        "metadata": dict(rate.metadata),
        "metered_item": metered_item(rate.metered_item),
        "rate_card": rate.rate_card_id,
        "rate_card_version": rate.rate_card_version_id,
        "tiering_mode": price.tiers_mode,
        "tiers": _tiers(price),
        "transform_quantity": transform,
        "unit_amount": decimal_string(price.unit_amount_decimal),
    }
