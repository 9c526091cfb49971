"""Input and output shapes of ``billing.alert`` and ``billing.alert_triggered``."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError

from alerts.models import Alert, AlertTrigger
from alerts.services.alerts import MAX_GTE
from core import resources
from core.api.fields import (
    ApiParams,
    ConstField,
    ListParams,
    StripeInputSerializer,
    UnixField,
)
from core.numbers import plain_digits

# ---- input ---------------------------------------------------------------------


class WholeNumberField(serializers.IntegerField):
    """An integer parameter; anything else is ``parameter_invalid_integer``."""

    def to_internal_value(self, data):
        text = str(data).strip()
        if isinstance(data, bool) or not plain_digits(text.lstrip("+-")):
            raise ValidationError(
                ErrorDetail("must be an integer.", code="parameter_invalid_integer")
            )
        return super().to_internal_value(text)


class AlertFilterParams(StripeInputSerializer):
    type = serializers.ChoiceField(
        choices=[("customer", "customer")],
        error_messages={"invalid_choice": "must be customer (the only filter type)."},
    )
    customer = serializers.CharField(max_length=64)


class UsageThresholdParams(StripeInputSerializer):
    gte = WholeNumberField(
        min_value=1,
        max_value=MAX_GTE,
        error_messages={
            "min_value": "must be greater than 0.",
            "max_value": f"must be at most {MAX_GTE}.",
        },
    )
    meter = serializers.CharField(max_length=64)
    recurrence = serializers.ChoiceField(
        choices=Alert.Recurrence.choices,
        error_messages={"invalid_choice": "must be one_time (the only recurrence)."},
    )
    filters = serializers.ListField(
        child=AlertFilterParams(),
        required=False,
        max_length=1,
        error_messages={"max_length": "may list at most one filter."},
    )


class MonetaryLevelParams(StripeInputSerializer):
    currency = serializers.RegexField(
        r"^[A-Za-z]{3}$",
        error_messages={"invalid": "must be a three-letter ISO currency code."},
    )
    value = WholeNumberField(
        min_value=0, error_messages={"min_value": "must not be negative."}
    )


class CreditBalanceLevelParams(StripeInputSerializer):
    balance_type = serializers.ChoiceField(
        choices=[("monetary", "monetary")],
        error_messages={"invalid_choice": "must be monetary (the only balance type)."},
    )
    monetary = MonetaryLevelParams()


class CreditBalanceThresholdParams(StripeInputSerializer):
    filters = serializers.ListField(
        child=AlertFilterParams(),
        min_length=1,
        max_length=1,
        error_messages={
            "min_length": "must name the customer (one customer filter).",
            "max_length": "may list at most one filter.",
        },
    )
    lte = CreditBalanceLevelParams()


class AlertCreateParams(ApiParams):
    alert_type = serializers.ChoiceField(
        choices=Alert.AlertType.choices,
        error_messages={
            "invalid_choice": "must be usage_threshold or credit_balance_threshold."
        },
    )
    title = serializers.CharField(max_length=256)
    usage_threshold = UsageThresholdParams(required=False)
    credit_balance_threshold = CreditBalanceThresholdParams(required=False)

    def validate(self, attrs):
        wanted = attrs["alert_type"]
        if wanted not in attrs:
            raise ValidationError(
                {wanted: [ErrorDetail("This field is required.", code="required")]}
            )
        for other in ("usage_threshold", "credit_balance_threshold"):
            if other != wanted and other in attrs:
                raise ValidationError(
                    {
                        other: [
                            ErrorDetail(
                                f"is not allowed with alert_type={wanted}.",
                                code="parameter_unknown",
                            )
                        ]
                    }
                )
        return attrs


class AlertListParams(ListParams):
    alert_type = serializers.ChoiceField(
        choices=Alert.AlertType.choices, required=False
    )
    meter = serializers.CharField(max_length=64, required=False)
    customer = serializers.CharField(max_length=64, required=False)


# ---- output --------------------------------------------------------------------


class AlertFilterSerializer(serializers.Serializer):
    customer = serializers.CharField(read_only=True)
    type = serializers.CharField(read_only=True)


class UsageThresholdSerializer(serializers.Serializer):
    filters = AlertFilterSerializer(many=True, read_only=True, allow_null=True)
    gte = serializers.IntegerField(read_only=True)
    meter = serializers.CharField(read_only=True)
    recurrence = serializers.CharField(read_only=True)


class MonetaryLevelSerializer(serializers.Serializer):
    currency = serializers.CharField(read_only=True)
    value = serializers.IntegerField(read_only=True)


class CreditBalanceLevelSerializer(serializers.Serializer):
    balance_type = serializers.CharField(read_only=True)
    monetary = MonetaryLevelSerializer(read_only=True)


class CreditBalanceThresholdSerializer(serializers.Serializer):
    filters = AlertFilterSerializer(many=True, read_only=True)
    lte = CreditBalanceLevelSerializer(read_only=True)


class AlertSerializer(serializers.Serializer):
    """``billing.alert``; ``expand[]=usage_threshold.meter`` inlines the meter."""

    id = serializers.CharField(read_only=True)
    object = ConstField("billing.alert")
    alert_type = serializers.CharField(read_only=True)
    livemode = serializers.BooleanField(read_only=True)
    status = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    usage_threshold = serializers.SerializerMethodField()
    credit_balance_threshold = serializers.SerializerMethodField()

    @extend_schema_field(CreditBalanceThresholdSerializer(allow_null=True))
    def get_credit_balance_threshold(self, alert: Alert) -> dict | None:
        if not alert.is_credit_balance:
            return None
        return {
            "filters": [{"customer": alert.customer_id, "type": "customer"}],
            "lte": {
                "balance_type": "monetary",
                "monetary": {"currency": alert.lte_currency, "value": alert.lte_value},
            },
        }

    @extend_schema_field(UsageThresholdSerializer(allow_null=True))
    def get_usage_threshold(self, alert: Alert) -> dict | None:
        if alert.is_credit_balance:
            return None
        meter = alert.meter_id
        if "usage_threshold.meter" in self.context.get("expand", ()):
            meter = resources.serialize(alert.meter)
        filters = None
        if alert.customer_id is not None:
            filters = [{"customer": alert.customer_id, "type": "customer"}]
        return {
            "filters": filters,
            "gte": alert.gte,
            "meter": meter,
            "recurrence": alert.recurrence,
        }


class AlertTriggeredSerializer(serializers.Serializer):
    """``billing.alert_triggered``: the object of ``billing.alert.triggered``."""

    object = ConstField("billing.alert_triggered")
    alert = serializers.SerializerMethodField()
    created = UnixField()
    customer = serializers.CharField(source="customer_id", read_only=True)
    livemode = serializers.BooleanField(read_only=True)
    value = serializers.SerializerMethodField()

    @extend_schema_field(AlertSerializer)
    def get_alert(self, trigger: AlertTrigger) -> dict:
        return resources.serialize(trigger.alert)

    @extend_schema_field(OpenApiTypes.INT)
    def get_value(self, trigger: AlertTrigger) -> int:
        return int(trigger.value)
