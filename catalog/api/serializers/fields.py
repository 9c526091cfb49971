"""The fields the catalog's shapes share (and billing's): currency codes, tier
bounds, product ids.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.services.terms import MAX_QUANTITY
from core.numbers import plain_digits

PRODUCT_ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"


class CurrencyField(serializers.RegexField):
    """A three-letter ISO 4217 code, answered in lowercase."""

    def __init__(self, **kwargs):
        kwargs.setdefault("error_messages", {"invalid": "must be a 3-letter ISO code."})
        super().__init__(r"^[A-Za-z]{3}$", **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(data).lower()


@extend_schema_field(
    {"oneOf": [{"type": "integer"}, {"type": "string", "enum": ["inf"]}]}
)
class UpToField(serializers.Field):
    """A tier's ``up_to``: a positive integer, or ``"inf"`` (None) for the last tier."""

    default_error_messages = {
        "invalid": "must be a positive integer or 'inf'.",
        "too_large": f"must be at most {MAX_QUANTITY}.",
    }

    def to_internal_value(self, data):
        if data == "inf":
            return None
        text = str(data).strip()
        if isinstance(data, bool) or not plain_digits(text):
            self.fail("invalid")
        # Counting digits first: int() refuses thousands of them.
        if len(text.lstrip("0")) > len(str(MAX_QUANTITY)) or int(text) > MAX_QUANTITY:
            self.fail("too_large")
        if int(text) < 1:
            self.fail("invalid")
        return int(text)

    def to_representation(self, value):
        return value
