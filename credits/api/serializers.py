"""Input and output shapes of credit grants, balance transactions and the summary."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError

from core.api.fields import (
    ApiParams,
    ConstField,
    ListParams,
    MetadataField,
    ObjectSerializer,
    StripeInputSerializer,
    UnixField,
    UnixTimeField,
)
from credits.models import CreditBalanceTransaction, CreditGrant
from credits.services.grants import MAX_SCOPE_PRICES, MAX_VALUE


def _missing(name: str) -> ValidationError:
    return ValidationError(
        {name: [ErrorDetail("This field is required.", code="required")]}
    )


class CurrencyField(serializers.RegexField):
    """A three-letter ISO 4217 code, answered in lowercase."""

    def __init__(self, **kwargs):
        kwargs.setdefault("error_messages", {"invalid": "must be a 3-letter ISO code."})
        super().__init__(r"^[A-Za-z]{3}$", **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(data).lower()


# ---- input ---------------------------------------------------------------------


class MonetaryParams(StripeInputSerializer):
    currency = CurrencyField()
    value = serializers.IntegerField(
        min_value=1,
        max_value=MAX_VALUE,
        error_messages={
            "min_value": "must be a positive integer (minor units).",
            "max_value": f"must be at most {MAX_VALUE}.",
        },
    )


class AmountParams(StripeInputSerializer):
    type = serializers.ChoiceField(
        choices=[("monetary", "monetary")],
        error_messages={"invalid_choice": "must be monetary (the only amount type)."},
    )
    monetary = MonetaryParams(required=False)

    def validate(self, attrs):
        if "monetary" not in attrs:
            raise _missing("monetary")
        return attrs


class PriceRefParams(StripeInputSerializer):
    id = serializers.CharField(max_length=64)


class ScopeParams(StripeInputSerializer):
    price_type = serializers.ChoiceField(
        choices=CreditGrant.PriceType.choices, required=False
    )
    prices = serializers.ListField(
        child=PriceRefParams(),
        required=False,
        min_length=1,
        max_length=MAX_SCOPE_PRICES,
        error_messages={
            "max_length": f"may list at most {MAX_SCOPE_PRICES} prices.",
            "min_length": "must list at least one price.",
        },
    )

    def validate(self, attrs):
        if "price_type" in attrs and "prices" in attrs:
            raise ValidationError(
                {
                    "prices": [
                        ErrorDetail(
                            "cannot be combined with price_type.",
                            code="parameters_exclusive",
                        )
                    ]
                }
            )
        if "price_type" not in attrs and "prices" not in attrs:
            raise _missing("price_type")
        return attrs


class ApplicabilityConfigParams(StripeInputSerializer):
    scope = ScopeParams()


class CreditGrantCreateParams(ApiParams):
    customer = serializers.CharField(max_length=64)
    amount = AmountParams()
    applicability_config = ApplicabilityConfigParams()
    category = serializers.ChoiceField(
        choices=CreditGrant.Category.choices, required=False
    )
    effective_at = UnixTimeField(required=False)
    expires_at = UnixTimeField(required=False)
    metadata = MetadataField()
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    priority = serializers.IntegerField(
        min_value=0,
        max_value=100,
        required=False,
        error_messages={
            "min_value": "must be between 0 and 100.",
            "max_value": "must be between 0 and 100.",
        },
    )


class CreditGrantUpdateParams(ApiParams):
    expires_at = UnixTimeField(required=False, allow_null=True)
    metadata = MetadataField()


class CreditGrantListParams(ListParams):
    customer = serializers.CharField(max_length=64, required=False)


class CreditTransactionListParams(ListParams):
    customer = serializers.CharField(max_length=64)
    credit_grant = serializers.CharField(max_length=64, required=False)


class SummaryFilterParams(StripeInputSerializer):
    type = serializers.ChoiceField(
        choices=[
            ("applicability_scope", "applicability_scope"),
            ("credit_grant", "credit_grant"),
        ]
    )
    applicability_scope = ScopeParams(required=False)
    credit_grant = serializers.CharField(max_length=64, required=False)

    def validate(self, attrs):
        wanted = attrs["type"]
        other = (
            "credit_grant" if wanted == "applicability_scope" else "applicability_scope"
        )
        if wanted not in attrs:
            raise _missing(wanted)
        if other in attrs:
            raise ValidationError(
                {
                    other: [
                        ErrorDetail(
                            f"cannot be used with filter[type]={wanted}.",
                            code="parameters_exclusive",
                        )
                    ]
                }
            )
        return attrs


class CreditBalanceSummaryParams(ApiParams):
    customer = serializers.CharField(max_length=64)
    filter = SummaryFilterParams()


# ---- output --------------------------------------------------------------------


class MonetarySerializer(serializers.Serializer):
    currency = serializers.CharField(read_only=True)
    value = serializers.IntegerField(source="amount", read_only=True)


class AmountSerializer(serializers.Serializer):
    monetary = MonetarySerializer(source="*", read_only=True)
    type = ConstField("monetary")


class ScopePriceSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)


class ScopeSerializer(serializers.Serializer):
    price_type = serializers.CharField(required=False, read_only=True)
    prices = ScopePriceSerializer(many=True, required=False, read_only=True)

    def to_representation(self, grant: CreditGrant) -> dict:
        if grant.scope_price_type:
            return {"price_type": grant.scope_price_type}
        return {"prices": [{"id": price_id} for price_id in grant.scope_prices]}


class ApplicabilityConfigSerializer(serializers.Serializer):
    scope = ScopeSerializer(source="*", read_only=True)


class CreditGrantSerializer(ObjectSerializer):
    object = ConstField("billing.credit_grant")
    amount = AmountSerializer(source="*", read_only=True)
    applicability_config = ApplicabilityConfigSerializer(source="*", read_only=True)
    category = serializers.CharField(read_only=True)
    customer = serializers.CharField(source="customer_id", read_only=True)
    customer_account = serializers.SerializerMethodField()
    effective_at = UnixField()
    expires_at = UnixField()
    metadata = serializers.DictField(read_only=True)
    name = serializers.CharField(read_only=True, allow_null=True)
    priority = serializers.IntegerField(read_only=True)
    test_clock = serializers.CharField(source="test_clock_id", read_only=True)
    updated = UnixField()
    voided_at = UnixField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_customer_account(self, grant: CreditGrant) -> str | None:
        return None


class InvoiceLineRefSerializer(serializers.Serializer):
    invoice = serializers.CharField(read_only=True)
    invoice_line_item = serializers.CharField(read_only=True)


class CreditSerializer(serializers.Serializer):
    amount = AmountSerializer(source="*", read_only=True)
    credits_application_invoice_voided = InvoiceLineRefSerializer(
        source="*", read_only=True, allow_null=True
    )
    type = serializers.CharField(source="kind", read_only=True)

    def to_representation(self, entry: CreditBalanceTransaction) -> dict:
        data = super().to_representation(entry)
        if entry.kind != entry.Kind.CREDITS_APPLICATION_INVOICE_VOIDED:
            data["credits_application_invoice_voided"] = None
        return data


class DebitSerializer(serializers.Serializer):
    amount = AmountSerializer(source="*", read_only=True)
    credits_applied = InvoiceLineRefSerializer(
        source="*", read_only=True, allow_null=True
    )
    type = serializers.CharField(source="kind", read_only=True)

    def to_representation(self, entry: CreditBalanceTransaction) -> dict:
        data = super().to_representation(entry)
        if entry.kind != entry.Kind.CREDITS_APPLIED:
            data["credits_applied"] = None
        return data


class CreditBalanceTransactionSerializer(ObjectSerializer):
    object = ConstField("billing.credit_balance_transaction")
    credit = serializers.SerializerMethodField()
    credit_grant = serializers.CharField(source="credit_grant_id", read_only=True)
    debit = serializers.SerializerMethodField()
    effective_at = UnixField()
    test_clock = serializers.SerializerMethodField()
    type = serializers.CharField(read_only=True)

    def get_credit(self, entry: CreditBalanceTransaction) -> dict | None:
        if entry.type != entry.Type.CREDIT:
            return None
        return CreditSerializer(entry).data

    def get_debit(self, entry: CreditBalanceTransaction) -> dict | None:
        if entry.type != entry.Type.DEBIT:
            return None
        return DebitSerializer(entry).data

    def get_test_clock(self, entry: CreditBalanceTransaction) -> str | None:
        return entry.credit_grant.test_clock_id


class BalanceAmountSerializer(serializers.Serializer):
    monetary = serializers.DictField(read_only=True)
    type = serializers.CharField(read_only=True)


class BalanceSerializer(serializers.Serializer):
    available_balance = BalanceAmountSerializer(read_only=True)
    ledger_balance = BalanceAmountSerializer(read_only=True)
    available_balance_after_unbilled_usage = BalanceAmountSerializer(
        read_only=True, allow_null=True
    )


class CreditBalanceSummarySerializer(serializers.Serializer):
    """Schema of the summary; the view builds it with ``summary_data``."""

    object = serializers.CharField(read_only=True)
    balances = BalanceSerializer(many=True, read_only=True)
    customer = serializers.CharField(read_only=True)
    customer_account = serializers.CharField(read_only=True, allow_null=True)
    livemode = serializers.BooleanField(read_only=True)


def _monetary(currency: str, value: int) -> dict:
    return {"monetary": {"currency": currency, "value": value}, "type": "monetary"}


def summary_data(*, customer, balances) -> dict:
    """The ``billing.credit_balance_summary`` object for a customer's balances."""
    return {
        "object": "billing.credit_balance_summary",
        "balances": [
            {
                "available_balance": _monetary(balance.currency, balance.available),
                "ledger_balance": _monetary(balance.currency, balance.ledger),
                # Tally's own: the available balance once the usage not yet
                # invoiced is billed (real-time burndown); Stripe has no field.
                "available_balance_after_unbilled_usage": (
                    None
                    if balance.after_unbilled_usage is None
                    else _monetary(balance.currency, balance.after_unbilled_usage)
                ),
            }
            for balance in balances
        ],
        "customer": customer.pk,
        "customer_account": None,
        "livemode": customer.livemode,
    }
