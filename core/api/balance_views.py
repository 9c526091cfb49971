"""``/v1/customers/{id}/balance_transactions``: the customer balance ledger."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from core import clock
from core.api.base import StripeView, get_or_404
from core.api.fields import (
    AlwaysNullField,
    ApiParams,
    ConstField,
    ListParams,
    MetadataField,
    ObjectSerializer,
    RangeFilterField,
)
from core.api.pagination import filter_range
from core.models import Customer, CustomerBalanceTransaction
from core.money import MAX_AMOUNT
from core.services import balance

# ---- input ------------------------------------------------------------------------


class BalanceTransactionCreateParams(ApiParams):
    amount = serializers.IntegerField(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$")
    description = serializers.CharField(required=False, allow_null=True, max_length=350)
    metadata = MetadataField()


class BalanceTransactionUpdateParams(ApiParams):
    description = serializers.CharField(required=False, allow_null=True, max_length=350)
    metadata = MetadataField()


class BalanceTransactionListParams(ListParams):
    created = RangeFilterField(required=False)
    invoice = serializers.CharField(required=False, max_length=64)


# ---- output -----------------------------------------------------------------------


class CustomerBalanceTransactionSerializer(ObjectSerializer):
    """``customer_balance_transaction`` (``cbtxn_``)."""

    object = ConstField("customer_balance_transaction")
    amount = serializers.IntegerField(read_only=True)
    checkout_session = AlwaysNullField()
    credit_note = serializers.CharField(read_only=True, allow_null=True)
    currency = serializers.SerializerMethodField()
    customer = serializers.CharField(source="customer_id", read_only=True)
    customer_account = AlwaysNullField()
    description = serializers.CharField(read_only=True, allow_null=True)
    ending_balance = serializers.IntegerField(read_only=True)
    invoice = serializers.CharField(read_only=True, allow_null=True)
    metadata = serializers.DictField(read_only=True)
    type = serializers.CharField(read_only=True)

    def get_currency(self, instance) -> str | None:
        return instance.currency or instance.customer.currency


# ---- views ------------------------------------------------------------------------


def _customer(customer_id: str) -> Customer:
    return get_or_404(Customer.objects.filter(deleted=False), customer_id, "customer")


def _entry(customer: Customer, transaction_id: str) -> CustomerBalanceTransaction:
    return get_or_404(
        CustomerBalanceTransaction.objects.filter(customer=customer).select_related(
            "customer"
        ),
        transaction_id,
        "customer_balance_transaction",
    )


class BalanceTransactionListView(StripeView):
    @extend_schema(
        operation_id="ListCustomerBalanceTransactions",
        parameters=[BalanceTransactionListParams],
        responses=CustomerBalanceTransactionSerializer(many=True),
    )
    def get(self, request, customer_id):
        params = self.parse(request, BalanceTransactionListParams)
        rows = CustomerBalanceTransaction.objects.filter(
            customer=_customer(customer_id)
        ).select_related("customer")
        if "invoice" in params:
            rows = rows.filter(invoice=params["invoice"])
        rows = filter_range(rows, "created", params.get("created"))
        return self.render_list(
            request,
            rows,
            params,
            object_name="customer_balance_transaction",
            order_field="sequence",
        )

    @extend_schema(
        operation_id="CreateCustomerBalanceTransaction",
        request=BalanceTransactionCreateParams,
        responses=CustomerBalanceTransactionSerializer,
    )
    def post(self, request, customer_id):
        params = self.parse(request, BalanceTransactionCreateParams)
        customer = _customer(customer_id)
        entry = balance.customer_balance_transaction_create(
            customer=customer, params=params, now=clock.now_for_customer(customer)
        )
        return self.render(entry, params)


class BalanceTransactionDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveCustomerBalanceTransaction",
        parameters=[ApiParams],
        responses=CustomerBalanceTransactionSerializer,
    )
    def get(self, request, customer_id, balance_transaction_id):
        params = self.parse(request, ApiParams)
        entry = _entry(_customer(customer_id), balance_transaction_id)
        return self.render(entry, params)

    @extend_schema(
        operation_id="UpdateCustomerBalanceTransaction",
        request=BalanceTransactionUpdateParams,
        responses=CustomerBalanceTransactionSerializer,
    )
    def post(self, request, customer_id, balance_transaction_id):
        params = self.parse(request, BalanceTransactionUpdateParams)
        entry = _entry(_customer(customer_id), balance_transaction_id)
        entry = balance.customer_balance_transaction_update(entry=entry, params=params)
        return self.render(entry, params)
