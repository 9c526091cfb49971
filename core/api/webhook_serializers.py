"""Input and output serializers for ``/v1/webhook_endpoints``."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError

from core.api.fields import (
    AlwaysNullField,
    ApiParams,
    ConstField,
    MetadataField,
    ObjectSerializer,
)


class WebhookEndpointUpdateParams(ApiParams):
    url = serializers.CharField(required=False, allow_blank=True, max_length=2048)
    enabled_events = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        allow_empty=False,
    )
    description = serializers.CharField(
        required=False, allow_null=True, max_length=5000
    )
    disabled = serializers.BooleanField(required=False)
    metadata = MetadataField()


class WebhookEndpointCreateParams(ApiParams):
    url = serializers.CharField(allow_blank=True, max_length=2048)
    enabled_events = serializers.ListField(
        child=serializers.CharField(max_length=100), allow_empty=False
    )
    description = serializers.CharField(
        required=False, allow_null=True, max_length=5000
    )
    metadata = MetadataField()
    api_version = serializers.RegexField(
        r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$",
        required=False,
        error_messages={"invalid": "must be an API version such as 2025-05-28.basil."},
    )
    connect = serializers.BooleanField(required=False)

    def validate_connect(self, value: bool) -> bool:
        if value:
            raise ValidationError(
                ErrorDetail(
                    "Tally has no connected accounts; connect must be false.",
                    code="parameter_invalid",
                )
            )
        return value


class WebhookEndpointSerializer(ObjectSerializer):
    """The endpoint as the API shows it; ``secret`` is added to the create response."""

    object = ConstField("webhook_endpoint")
    api_version = serializers.CharField(read_only=True, allow_null=True)
    application = AlwaysNullField()
    description = serializers.CharField(read_only=True, allow_null=True)
    enabled_events = serializers.ListField(
        child=serializers.CharField(), read_only=True
    )
    metadata = serializers.DictField(read_only=True)
    status = serializers.CharField(read_only=True)
    url = serializers.CharField(read_only=True)


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    """Schema of the create response: the only one that carries ``secret``."""

    secret = serializers.CharField(read_only=True)
