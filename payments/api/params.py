"""Input shapes of payment methods, payment intents, invoice payments, refunds."""

from __future__ import annotations

from rest_framework import serializers

from core.api.fields import ApiParams, ListParams, MetadataField, StripeInputSerializer
from core.api.serializers import AddressParams
from core.money import MAX_AMOUNT

_REDISPLAY = ["always", "limited", "unspecified"]


class BillingDetailsParams(StripeInputSerializer):
    address = AddressParams(required=False, allow_null=True)
    email = serializers.EmailField(required=False, allow_null=True, max_length=512)
    name = serializers.CharField(required=False, allow_null=True, max_length=256)
    phone = serializers.CharField(required=False, allow_null=True, max_length=40)
    tax_id = serializers.CharField(required=False, allow_null=True, max_length=100)


class CardParams(StripeInputSerializer):
    # ``number`` and ``cvc`` are accepted only to be refused (unsafe_card_data).
    token = serializers.CharField(required=False, max_length=255)
    number = serializers.CharField(required=False, max_length=30)
    cvc = serializers.CharField(required=False, max_length=10)
    exp_month = serializers.IntegerField(required=False, min_value=1, max_value=12)
    exp_year = serializers.IntegerField(required=False, min_value=2000, max_value=2200)


class CardUpdateParams(StripeInputSerializer):
    exp_month = serializers.IntegerField(required=False, min_value=1, max_value=12)
    exp_year = serializers.IntegerField(required=False, min_value=2000, max_value=2200)
    networks = serializers.DictField(required=False)


class PaymentMethodCreateParams(ApiParams):
    type = serializers.ChoiceField(choices=["card"])
    card = CardParams(required=False)
    billing_details = BillingDetailsParams(required=False)
    allow_redisplay = serializers.ChoiceField(choices=_REDISPLAY, required=False)
    metadata = MetadataField()


class PaymentMethodUpdateParams(ApiParams):
    billing_details = BillingDetailsParams(required=False)
    card = CardUpdateParams(required=False)
    allow_redisplay = serializers.ChoiceField(choices=_REDISPLAY, required=False)
    metadata = MetadataField()


class PaymentMethodListParams(ListParams):
    customer = serializers.CharField(required=False, max_length=64)
    type = serializers.CharField(required=False, max_length=30)


class CustomerPaymentMethodListParams(ListParams):
    type = serializers.CharField(required=False, max_length=30)
    allow_redisplay = serializers.ChoiceField(choices=_REDISPLAY, required=False)


class AttachParams(ApiParams):
    customer = serializers.CharField(max_length=64)


class PaymentIntentListParams(ListParams):
    customer = serializers.CharField(required=False, max_length=64)


_PAYMENT_TYPES = ("payment_intent", "payment_record")


class InvoicePaymentListParams(ListParams):
    invoice = serializers.CharField(required=False, max_length=64)
    # payment[type] (required with payment), payment[payment_intent|payment_record]
    payment = serializers.DictField(
        child=serializers.CharField(max_length=64), required=False
    )
    status = serializers.ChoiceField(
        choices=["open", "paid", "canceled"], required=False
    )

    def validate_payment(self, value: dict) -> dict:
        unknown = sorted(set(value) - {"type", *_PAYMENT_TYPES})
        if unknown:
            raise serializers.ValidationError(
                f"Received unknown parameter: payment[{unknown[0]}]"
            )
        if value.get("type") not in _PAYMENT_TYPES:
            raise serializers.ValidationError(
                "payment[type] must be payment_intent or payment_record."
            )
        return value


class RefundCreateParams(ApiParams):
    payment_intent = serializers.CharField(max_length=64)
    amount = serializers.IntegerField(required=False, min_value=1, max_value=MAX_AMOUNT)
    reason = serializers.ChoiceField(
        choices=["duplicate", "fraudulent", "requested_by_customer"], required=False
    )
    metadata = MetadataField()


class RefundListParams(ListParams):
    payment_intent = serializers.CharField(required=False, max_length=64)
