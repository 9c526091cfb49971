"""Input and output shapes of meters, meter events, adjustments and summaries."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.fields import (
    ApiParams,
    ConstField,
    ListParams,
    ObjectSerializer,
    StripeInputSerializer,
    UnixField,
    UnixTimeField,
    unix,
)
from metering.dimensions import payload_dimensions
from metering.models import Meter

# ---- meters: input -------------------------------------------------------------


class DefaultAggregationParams(StripeInputSerializer):
    formula = serializers.ChoiceField(choices=Meter.Formula.choices)
    # Tally's extension for the unique_count formula (a dimension payload key).
    unique_payload_key = serializers.CharField(max_length=100, required=False)


class CustomerMappingParams(StripeInputSerializer):
    event_payload_key = serializers.CharField(max_length=100)
    type = serializers.ChoiceField(choices=[("by_id", "by_id")])


class ValueSettingsParams(StripeInputSerializer):
    event_payload_key = serializers.CharField(max_length=100)


class MeterCreateParams(ApiParams):
    display_name = serializers.CharField(max_length=250)
    event_name = serializers.CharField(max_length=100)
    default_aggregation = DefaultAggregationParams()
    customer_mapping = CustomerMappingParams(required=False)
    value_settings = ValueSettingsParams(required=False)
    event_time_window = serializers.ChoiceField(
        choices=Meter.TimeWindow.choices, required=False
    )
    dimension_payload_keys = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False
    )


class MeterUpdateParams(ApiParams):
    display_name = serializers.CharField(max_length=250, required=False)


class MeterListParams(ListParams):
    status = serializers.ChoiceField(choices=Meter.Status.choices, required=False)


class EventSummaryListParams(ListParams):
    customer = serializers.CharField(max_length=64)
    start_time = UnixTimeField()
    end_time = UnixTimeField()
    value_grouping_window = serializers.ChoiceField(
        choices=[("hour", "hour"), ("day", "day")], required=False
    )
    # Stripe's dimension parameters (the meter's ``dimension_payload_keys``).
    dimension_group_by_keys = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False
    )
    dimension_filters = serializers.DictField(
        child=serializers.CharField(max_length=500, allow_blank=True), required=False
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        start, end = attrs["start_time"], attrs["end_time"]
        for name in ("start_time", "end_time"):
            if attrs[name].second or attrs[name].microsecond:
                raise serializers.ValidationError(
                    {name: ["must be aligned to a minute (a multiple of 60 seconds)."]}
                )
        if start >= end:
            raise serializers.ValidationError(
                {"end_time": ["must be after start_time."]}
            )
        window = attrs.get("value_grouping_window")
        for name in ("start_time", "end_time"):
            moment = attrs[name]
            if window == "hour" and moment.minute:
                raise serializers.ValidationError(
                    {name: ["must be on the hour with value_grouping_window=hour."]}
                )
            if window == "day" and (moment.minute or moment.hour):
                raise serializers.ValidationError(
                    {name: ["must be midnight UTC with value_grouping_window=day."]}
                )
        return attrs


# ---- meters: output ------------------------------------------------------------


class MeterSerializer(ObjectSerializer):
    object = ConstField("billing.meter")
    customer_mapping = serializers.SerializerMethodField()
    default_aggregation = serializers.SerializerMethodField()
    dimension_payload_keys = serializers.SerializerMethodField()
    display_name = serializers.CharField(read_only=True)
    event_name = serializers.CharField(read_only=True)
    event_time_window = serializers.CharField(read_only=True, allow_null=True)
    status = serializers.CharField(read_only=True)
    status_transitions = serializers.SerializerMethodField()
    updated = UnixField()
    value_settings = serializers.SerializerMethodField()

    def get_customer_mapping(self, meter: Meter) -> dict:
        return {"event_payload_key": meter.customer_payload_key, "type": "by_id"}

    def get_default_aggregation(self, meter: Meter) -> dict:
        if meter.unique_payload_key:
            return {
                "formula": meter.formula,
                "unique_payload_key": meter.unique_payload_key,
            }
        return {"formula": meter.formula}

    def get_dimension_payload_keys(self, meter: Meter) -> list[str]:
        return list(meter.dimension_keys)

    def get_status_transitions(self, meter: Meter) -> dict:
        return {"deactivated_at": unix(meter.status_transitions_deactivated_at)}

    def get_value_settings(self, meter: Meter) -> dict:
        return {"event_payload_key": meter.value_payload_key}


def summary_id(summary) -> str:
    """A stable id for a computed summary: it names meter, customer, range and
    dimension values."""
    raw = (
        f"{summary.meter.id}|{summary.customer_id}|"
        f"{unix(summary.start)}|{unix(summary.end)}"
    )
    if summary.dimensions is not None:
        raw += "|" + "|".join(f"{k}={v}" for k, v in sorted(summary.dimensions.items()))
    return "mtrusg_" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def aggregated_value(value) -> int | float:
    """Stripe's ``aggregated_value`` is a number; whole values render as integers."""
    return int(value) if value == value.to_integral_value() else float(value)


def summary_data(summary) -> dict:
    data = {
        "id": summary_id(summary),
        "object": "billing.meter_event_summary",
        "aggregated_value": aggregated_value(summary.value),
        "end_time": unix(summary.end),
        "livemode": summary.meter.livemode,
        "meter": summary.meter.id,
        "start_time": unix(summary.start),
    }
    if summary.dimensions is not None:
        data["dimensions"] = summary.dimensions
    return data


class MeterEventSummarySerializer(serializers.Serializer):
    """Schema of ``billing.meter_event_summary`` (rendered by ``summary_data``)."""

    id = serializers.CharField()
    object = serializers.CharField()
    aggregated_value = serializers.FloatField()
    end_time = serializers.IntegerField()
    livemode = serializers.BooleanField()
    meter = serializers.CharField()
    start_time = serializers.IntegerField()


# ---- meter events (v1) ---------------------------------------------------------


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
class PayloadField(serializers.Field):
    """The event payload as sent; the ingestion service validates its contents."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


class MeterEventCreateParams(ApiParams):
    event_name = serializers.CharField(allow_blank=True)
    payload = PayloadField()
    identifier = serializers.CharField(required=False, allow_blank=True)
    timestamp = UnixTimeField(required=False)


def event_payload(event) -> dict[str, str]:
    """The payload of a stored event: its other keys, its dimension values (those
    sent), and the customer and value keys."""
    return {
        **(event.dimensions or {}),
        **payload_dimensions(event.meter, event.dimension_set),
        event.meter.customer_payload_key: event.customer_id,
        event.meter.value_payload_key: str(event.value),
    }


def meter_event_data(event) -> dict:
    """``billing.meter_event`` without a serializer instance (the hot path)."""
    return {
        "object": "billing.meter_event",
        "created": unix(event.created),
        "event_name": event.event_name,
        "identifier": event.identifier,
        "livemode": event.livemode,
        "payload": event_payload(event),
        "timestamp": unix(event.timestamp),
    }


class MeterEventSerializer(serializers.Serializer):
    object = ConstField("billing.meter_event")
    created = UnixField()
    event_name = serializers.CharField(read_only=True)
    identifier = serializers.CharField(read_only=True)
    livemode = serializers.BooleanField(read_only=True)
    payload = serializers.SerializerMethodField()
    timestamp = UnixField()

    def get_payload(self, event) -> dict[str, str]:
        return event_payload(event)


class CancelParams(StripeInputSerializer):
    identifier = serializers.CharField(required=False, allow_blank=True)


class MeterEventAdjustmentCreateParams(ApiParams):
    event_name = serializers.CharField(allow_blank=True)
    type = serializers.ChoiceField(choices=[("cancel", "cancel")])
    cancel = CancelParams(required=False)


class MeterEventAdjustmentSerializer(serializers.Serializer):
    object = ConstField("billing.meter_event_adjustment")
    cancel = serializers.SerializerMethodField()
    event_name = serializers.CharField(read_only=True)
    livemode = serializers.BooleanField(read_only=True)
    status = serializers.CharField(read_only=True)
    type = serializers.CharField(read_only=True)

    def get_cancel(self, adjustment) -> dict:
        return {"identifier": adjustment.identifier}


# ---- v2 ------------------------------------------------------------------------


def rfc3339(moment: datetime) -> str:
    """v2 timestamps: ``2024-06-01T12:00:00.000Z``."""
    return (
        moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def v2_meter_event(event) -> dict:
    return {
        "object": "v2.billing.meter_event",
        "created": rfc3339(event.created),
        "event_name": event.event_name,
        "identifier": event.identifier,
        "livemode": event.livemode,
        "payload": event_payload(event),
        "timestamp": rfc3339(event.timestamp),
    }


def v2_adjustment(adjustment) -> dict:
    return {
        "id": adjustment.id,
        "object": "v2.billing.meter_event_adjustment",
        "cancel": {"identifier": adjustment.identifier},
        "created": rfc3339(adjustment.created),
        "event_name": adjustment.event_name,
        "livemode": adjustment.livemode,
        "status": adjustment.status,
        "type": adjustment.type,
    }


def v2_session(session, token: str) -> dict:
    return {
        "id": session.id,
        "object": "v2.billing.meter_event_session",
        "authentication_token": token,
        "created": rfc3339(session.created),
        "expires_at": rfc3339(session.expires_at),
        "livemode": session.livemode,
    }
