"""Input fields and the base input serializer for Stripe-shaped parameters."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django.utils.timezone import is_aware
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError

from core.api.params import FormList
from core.money import MAX_UNIT_DECIMAL_PLACES

_INTEGER = re.compile(r"-?[0-9]+")


class StripeInputSerializer(serializers.Serializer):
    """Plain input serializer: unknown parameters are refused, ``""`` clears.

    A field declared with ``allow_null=True`` treats an empty string as "unset"
    (Stripe's ``Emptyable`` parameters) and arrives as ``None``.
    """

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise ValidationError(
                {
                    "non_field_errors": [
                        ErrorDetail("Expected an object.", code="invalid")
                    ]
                }
            )
        unknown = [key for key in data if key not in self.fields]
        if unknown:
            raise ValidationError(
                {
                    unknown[0]: [
                        ErrorDetail("Unknown parameter.", code="parameter_unknown")
                    ]
                }
            )
        cleaned = {
            key: None
            if value == "" and getattr(self.fields[key], "allow_null", False)
            else value
            for key, value in data.items()
        }
        for key, value in cleaned.items():
            # DRF's IntegerField takes " 5", "+5", "5.0" and other scripts' digits
            # (a subclass states its own rules).
            if (
                type(self.fields[key]) is serializers.IntegerField
                and isinstance(value, str)
                and not _INTEGER.fullmatch(value)
            ):
                raise ValidationError(
                    {key: [ErrorDetail("A valid integer is required.", code="invalid")]}
                )
        return super().to_internal_value(cleaned)


class ApiParams(StripeInputSerializer):
    """Top-level parameters of an endpoint: they all accept ``expand``."""

    expand = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, max_length=30
    )


class ListParams(ApiParams):
    """Pagination and ``created`` filters shared by every list endpoint."""

    limit = serializers.IntegerField(min_value=1, max_value=100, default=10)
    starting_after = serializers.CharField(required=False, max_length=255)
    ending_before = serializers.CharField(required=False, max_length=255)

    def validate(self, attrs):
        if attrs.get("starting_after") and attrs.get("ending_before"):
            raise ValidationError(
                {
                    "ending_before": [
                        ErrorDetail(
                            "You may only specify one of starting_after and "
                            "ending_before.",
                            code="parameters_exclusive",
                        )
                    ]
                }
            )
        return attrs


class UnixTimeField(serializers.Field):
    """A unix timestamp (seconds) in, an aware UTC datetime out; ``now`` optional."""

    default_error_messages = {
        "invalid": "must be a unix timestamp in seconds.",
    }

    def __init__(self, *, allow_now: bool = False, **kwargs):
        self.allow_now = allow_now
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if self.allow_now and data == "now":
            return "now"
        try:
            seconds = int(str(data))
        except (TypeError, ValueError):
            self.fail("invalid")
        if not 0 <= seconds < 253402300800:  # before year 10000
            self.fail("invalid")
        return datetime.fromtimestamp(seconds, tz=UTC)

    def to_representation(self, value):
        return unix(value)


class RangeFilterField(serializers.Field):
    """``created=123`` or ``created[gte]=123&created[lt]=456`` into lookups."""

    default_error_messages = {
        "invalid": "must be a timestamp or an object of gt/gte/lt/lte."
    }
    _OPERATORS = ("gt", "gte", "lt", "lte")

    def to_internal_value(self, data):
        seconds = UnixTimeField()
        if isinstance(data, dict):
            unknown = [op for op in data if op not in self._OPERATORS]
            if unknown:
                raise ValidationError(
                    {
                        unknown[0]: [
                            ErrorDetail("Unknown parameter.", code="parameter_unknown")
                        ]
                    }
                )
            return {op: seconds.to_internal_value(value) for op, value in data.items()}
        return {"exact": seconds.to_internal_value(data)}


class MetadataField(serializers.Field):
    """Stripe metadata: ≤50 string keys (≤40 chars, no brackets), values ≤500 chars.

    A value of ``""`` deletes that key on update; the whole field ``""`` clears all.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, FormList):  # form keys "0", "1", ... arrive as a list
            data = dict(zip(data.indexes, data, strict=True))
        if not isinstance(data, dict):
            raise ValidationError("must be an object of string keys and values.")
        if len(data) > 50:
            raise ValidationError("may have at most 50 keys.")
        cleaned = {}
        for key, value in data.items():
            key = str(key)
            if len(key) > 40:
                raise ValidationError(f"keys must be at most 40 characters ({key!r}).")
            if "[" in key or "]" in key:
                raise ValidationError(f"keys may not contain brackets ({key!r}).")
            if isinstance(value, dict | list):
                raise ValidationError(f"value for {key!r} must be a string.")
            text = "" if value is None else _scalar_text(value)
            if len(text) > 500:
                raise ValidationError(
                    f"value for {key!r} must be at most 500 characters."
                )
            if "\x00" in key or "\x00" in text:
                # As DRF's text fields: PostgreSQL keeps no NUL in text or JSON.
                raise ValidationError("null characters are not allowed.")
            cleaned[key] = text
        return cleaned

    def to_representation(self, value):
        return value


def _scalar_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class DecimalStringField(serializers.Field):
    """A decimal string with at most 12 decimal places (``unit_amount_decimal``)."""

    default_error_messages = {
        "invalid": "must be a decimal number with at most {places} decimal places.",
        "negative": "must be zero or greater.",
    }

    def __init__(self, *, places: int = MAX_UNIT_DECIMAL_PLACES, min_value=0, **kwargs):
        self.places = places
        self.min_value = min_value
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        text = str(data).strip()
        if not re.fullmatch(r"-?\d+(\.\d+)?", text):
            self.fail("invalid", places=self.places)
        try:
            value = Decimal(text)
        except InvalidOperation:
            self.fail("invalid", places=self.places)
        if -value.as_tuple().exponent > self.places:
            self.fail("invalid", places=self.places)
        if self.min_value is not None and value < self.min_value:
            self.fail("negative")
        return value

    def to_representation(self, value):
        return decimal_string(value)


def decimal_string(value: Decimal | None) -> str | None:
    """Render a Decimal the way Stripe does: no exponent, no trailing zeros."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return text


def unix(value: datetime | None) -> int | None:
    """Render an aware datetime as unix seconds."""
    if value is None:
        return None
    if not is_aware(value):
        raise ValueError("naive datetime")
    return int(value.timestamp())


class UnixField(serializers.ReadOnlyField):
    """Output: a datetime as unix seconds."""

    def to_representation(self, value):
        return unix(value)


class AlwaysNullField(serializers.ReadOnlyField):
    """Output: a field of Stripe's that Tally does not fill, always null."""

    def __init__(self, **kwargs):
        kwargs["source"] = "*"
        super().__init__(**kwargs)

    def to_representation(self, instance):
        return None


class ConstField(serializers.ReadOnlyField):
    """Output: a constant such as ``object: "customer"``."""

    def __init__(self, value, **kwargs):
        self.value = value
        kwargs["source"] = "*"
        super().__init__(**kwargs)

    def to_representation(self, instance):
        return self.value


class ObjectSerializer(serializers.Serializer):
    """Output fields every API object starts with."""

    id = serializers.CharField(read_only=True)
    object = ConstField("object")
    created = UnixField()
    livemode = serializers.BooleanField(read_only=True)
