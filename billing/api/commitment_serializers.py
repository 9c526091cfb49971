"""The shape of ``billing.commitment`` for the OpenAPI document; rendering is
``billing.api.render.commitments``."""

from __future__ import annotations

from rest_framework import serializers

from billing.api.render.commitments import commitment

_ro = {"read_only": True}


def _nullable(field_class, **kwargs):
    return field_class(read_only=True, allow_null=True, **kwargs)


class CommitmentTermSerializer(serializers.Serializer):
    start = serializers.IntegerField(**_ro)
    end = _nullable(serializers.IntegerField)


class PrepaidDrawdownSerializer(serializers.Serializer):
    balance = serializers.IntegerField(**_ro)
    used = serializers.IntegerField(**_ro)
    burn_rate_per_day = serializers.IntegerField(**_ro)
    projected_run_out_at = _nullable(serializers.IntegerField)
    exhausted = serializers.BooleanField(**_ro)


class MinimumSpendSettingsSerializer(serializers.Serializer):
    proration = serializers.ChoiceField(
        choices=["first_and_last", "first", "last", "none"], **_ro
    )
    spend_scope = serializers.ChoiceField(choices=["usage", "all_charges"], **_ro)


class CommitmentSerializer(serializers.Serializer):
    """``billing.commitment`` (``bcmt_``): a minimum spend per period, or a
    prepaid amount drawn down over a term (Tally extension)."""

    id = serializers.CharField(**_ro)
    object = serializers.CharField(**_ro)
    amount = serializers.IntegerField(**_ro)
    created = serializers.IntegerField(**_ro)
    credit_grant = _nullable(serializers.CharField)
    currency = serializers.CharField(**_ro)
    customer = serializers.CharField(**_ro)
    description = _nullable(serializers.CharField)
    invoice_item = _nullable(serializers.CharField)
    livemode = serializers.BooleanField(**_ro)
    metadata = serializers.DictField(**_ro)
    minimum_spend = MinimumSpendSettingsSerializer(read_only=True, allow_null=True)
    prepaid = PrepaidDrawdownSerializer(read_only=True, allow_null=True)
    status = serializers.ChoiceField(
        choices=["scheduled", "active", "ended", "voided"], **_ro
    )
    subscription = _nullable(serializers.CharField)
    term = CommitmentTermSerializer(read_only=True)
    type = serializers.ChoiceField(choices=["minimum_spend", "prepaid"], **_ro)
    voided_at = _nullable(serializers.IntegerField)

    def to_representation(self, instance):
        return commitment(instance)
