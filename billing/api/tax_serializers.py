"""Output serializers of tax rates and tax ids (the OpenAPI document's shapes).

Rendering is done by ``billing.api.render.taxes``, as for the other billing
objects.
"""

from __future__ import annotations

from rest_framework import serializers

from billing.api.render import taxes as render

_ro = {"read_only": True}


def _nullable(field_class, **kwargs):
    return field_class(read_only=True, allow_null=True, **kwargs)


class TaxRateSerializer(serializers.Serializer):
    """``tax_rate`` (``txr_``)."""

    id = serializers.CharField(**_ro)
    object = serializers.CharField(**_ro)
    active = serializers.BooleanField(**_ro)
    country = _nullable(serializers.CharField)
    created = serializers.IntegerField(**_ro)
    description = _nullable(serializers.CharField)
    display_name = serializers.CharField(**_ro)
    effective_percentage = _nullable(serializers.FloatField)
    inclusive = serializers.BooleanField(**_ro)
    jurisdiction = _nullable(serializers.CharField)
    livemode = serializers.BooleanField(**_ro)
    metadata = serializers.DictField(**_ro)
    percentage = serializers.FloatField(**_ro)
    state = _nullable(serializers.CharField)
    tax_type = _nullable(serializers.CharField)

    def to_representation(self, instance):
        return render.tax_rate(instance)


class TaxIdVerificationSerializer(serializers.Serializer):
    status = serializers.CharField(**_ro)
    verified_address = _nullable(serializers.CharField)
    verified_name = _nullable(serializers.CharField)


class TaxIdSerializer(serializers.Serializer):
    """``tax_id`` (``txi_``), a customer's."""

    id = serializers.CharField(**_ro)
    object = serializers.CharField(**_ro)
    country = _nullable(serializers.CharField)
    created = serializers.IntegerField(**_ro)
    customer = _nullable(serializers.CharField)
    livemode = serializers.BooleanField(**_ro)
    owner = serializers.DictField(**_ro)
    type = serializers.CharField(**_ro)
    value = serializers.CharField(**_ro)
    verification = TaxIdVerificationSerializer(read_only=True, allow_null=True)

    def to_representation(self, instance):
        return render.tax_id(instance)
