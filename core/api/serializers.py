"""Input and output serializers for customers, test clocks and events."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core import resources
from core.api.fields import (
    AlwaysNullField,
    ApiParams,
    ConstField,
    ListParams,
    MetadataField,
    ObjectSerializer,
    RangeFilterField,
    StripeInputSerializer,
    UnixField,
    UnixTimeField,
)
from core.models import MAX_INVOICE_SEQUENCE, Customer
from core.money import MAX_AMOUNT
from core.selectors import event_pending_webhooks

# ---- customers: input ----------------------------------------------------------


class AddressParams(StripeInputSerializer):
    city = serializers.CharField(required=False, allow_blank=True, max_length=200)
    country = serializers.CharField(required=False, allow_blank=True, max_length=2)
    line1 = serializers.CharField(required=False, allow_blank=True, max_length=200)
    line2 = serializers.CharField(required=False, allow_blank=True, max_length=200)
    postal_code = serializers.CharField(required=False, allow_blank=True, max_length=20)
    state = serializers.CharField(required=False, allow_blank=True, max_length=200)


class ShippingParams(StripeInputSerializer):
    address = AddressParams()
    name = serializers.CharField(max_length=256)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)


class CustomFieldParams(StripeInputSerializer):
    name = serializers.CharField(max_length=40)
    value = serializers.CharField(max_length=140)


class RenderingOptionsParams(StripeInputSerializer):
    """Stripe's ``invoice_settings.rendering_options`` (kept, not yet used)."""

    amount_tax_display = serializers.ChoiceField(
        choices=["exclude_tax", "include_inclusive_tax"],
        required=False,
        allow_blank=True,
    )
    template = serializers.CharField(required=False, allow_blank=True, max_length=100)
    template_version = serializers.IntegerField(
        required=False, allow_null=True, min_value=1
    )


class InvoiceSettingsParams(StripeInputSerializer):
    custom_fields = serializers.ListField(
        child=CustomFieldParams(), max_length=4, required=False, allow_null=True
    )
    default_payment_method = serializers.CharField(
        required=False, allow_null=True, max_length=255
    )
    footer = serializers.CharField(required=False, allow_null=True, max_length=5000)
    rendering_options = RenderingOptionsParams(required=False, allow_null=True)


class CustomerParams(ApiParams):
    name = serializers.CharField(required=False, allow_null=True, max_length=256)
    email = serializers.EmailField(required=False, allow_null=True, max_length=512)
    description = serializers.CharField(
        required=False, allow_null=True, max_length=5000
    )
    phone = serializers.CharField(required=False, allow_null=True, max_length=40)
    address = AddressParams(required=False, allow_null=True)
    shipping = ShippingParams(required=False, allow_null=True)
    balance = serializers.IntegerField(
        required=False, min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT
    )
    invoice_prefix = serializers.RegexField(
        r"^[A-Z0-9]{3,12}$",
        required=False,
        error_messages={"invalid": "must be 3–12 uppercase letters or digits."},
    )
    next_invoice_sequence = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_INVOICE_SEQUENCE
    )
    invoice_settings = InvoiceSettingsParams(required=False)
    preferred_locales = serializers.ListField(
        child=serializers.CharField(max_length=20), required=False, allow_null=True
    )
    tax_exempt = serializers.ChoiceField(
        choices=Customer.TaxExempt.choices, required=False, allow_null=True
    )
    metadata = MetadataField()
    # Redeemed into ``customer.discount`` by billing (API versions before 2025).
    coupon = serializers.CharField(required=False, allow_null=True, max_length=64)
    promotion_code = serializers.CharField(
        required=False, allow_null=True, max_length=64
    )


class CustomerCreateParams(CustomerParams):
    test_clock = serializers.CharField(required=False, max_length=64)


class CustomerListParams(ListParams):
    email = serializers.CharField(required=False, max_length=512)
    created = RangeFilterField(required=False)
    test_clock = serializers.CharField(required=False, max_length=64)


# ---- customers: output ---------------------------------------------------------


class InvoiceSettingsSerializer(serializers.Serializer):
    custom_fields = serializers.JSONField(default=None)
    default_payment_method = serializers.CharField(default=None)
    footer = serializers.CharField(default=None)
    rendering_options = serializers.JSONField(default=None)

    def to_representation(self, instance):
        return {
            "custom_fields": instance.get("custom_fields"),
            "default_payment_method": instance.get("default_payment_method"),
            "footer": instance.get("footer"),
            "rendering_options": instance.get("rendering_options"),
        }


# A higher app (billing) says what a customer's discount is: core cannot import it.
_discount_provider = None


def customer_discount_provider_register(provider) -> None:
    """Let ``provider(customer)`` give ``customer.discount`` (a model or None)."""
    global _discount_provider
    _discount_provider = provider


class CustomerSerializer(ObjectSerializer):
    object = ConstField("customer")
    address = serializers.JSONField(read_only=True)
    balance = serializers.IntegerField(read_only=True)
    currency = serializers.CharField(read_only=True)
    default_source = AlwaysNullField()
    delinquent = serializers.SerializerMethodField()
    description = serializers.CharField(read_only=True)
    discount = serializers.SerializerMethodField()
    email = serializers.CharField(read_only=True)
    invoice_credit_balance = serializers.SerializerMethodField()
    invoice_prefix = serializers.CharField(read_only=True)
    invoice_settings = InvoiceSettingsSerializer(read_only=True)
    metadata = serializers.DictField(read_only=True)
    name = serializers.CharField(read_only=True)
    next_invoice_sequence = serializers.IntegerField(read_only=True)
    phone = serializers.CharField(read_only=True)
    preferred_locales = serializers.ListField(read_only=True)
    shipping = serializers.JSONField(read_only=True)
    tax_exempt = serializers.CharField(read_only=True)
    test_clock = serializers.CharField(source="test_clock_id", read_only=True)

    def get_delinquent(self, instance) -> bool:
        return False

    @extend_schema_field(
        {"type": "object", "nullable": True, "description": "The customer's discount."}
    )
    def get_discount(self, instance) -> dict | None:
        if _discount_provider is None:
            return None
        found = _discount_provider(instance)
        return None if found is None else resources.serialize(found)

    def get_invoice_credit_balance(self, instance) -> dict:
        return {}

    def to_representation(self, instance):
        if instance.deleted:
            return {"id": instance.id, "object": "customer", "deleted": True}
        return super().to_representation(instance)


# ---- test clocks ---------------------------------------------------------------


class TestClockCreateParams(ApiParams):
    frozen_time = UnixTimeField()
    name = serializers.CharField(required=False, max_length=300, allow_blank=True)


class TestClockAdvanceParams(ApiParams):
    frozen_time = UnixTimeField()


class TestClockSerializer(ObjectSerializer):
    __test__ = False

    object = ConstField("test_helpers.test_clock")
    deletes_after = UnixField()
    frozen_time = UnixField()
    name = serializers.CharField(read_only=True, allow_null=True)
    status = serializers.CharField(read_only=True)
    status_details = serializers.SerializerMethodField()

    def get_status_details(self, instance) -> dict:
        if instance.status == "advancing" and instance.advancing_to:
            return {
                "advancing": {
                    "target_frozen_time": int(instance.advancing_to.timestamp())
                }
            }
        return {}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["name"] = instance.name or None
        return data


# ---- events --------------------------------------------------------------------


class EventListParams(ListParams):
    type = serializers.CharField(required=False, max_length=100)
    types = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=20
    )
    created = RangeFilterField(required=False)
    delivery_success = serializers.BooleanField(required=False)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs.get("type") and attrs.get("types"):
            raise serializers.ValidationError(
                {"types": ["You may only specify one of type and types."]}
            )
        return attrs


class EventSerializer(ObjectSerializer):
    object = ConstField("event")
    api_version = serializers.CharField(read_only=True)
    data = serializers.JSONField(read_only=True)
    pending_webhooks = serializers.SerializerMethodField()
    request = serializers.SerializerMethodField()
    type = serializers.CharField(read_only=True)

    def get_pending_webhooks(self, instance) -> int:
        if hasattr(instance, "pending_webhooks"):
            return instance.pending_webhooks or 0
        return event_pending_webhooks(event_id=instance.pk)

    def get_request(self, instance) -> dict:
        return {"id": instance.request_id, "idempotency_key": instance.idempotency_key}
