"""``/v1/billing/credit_grants``, credit balance transactions and the summary."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from core import clock, resources
from core.api.base import StripeView, get_or_404
from core.api.fields import ApiParams
from core.errors import InvalidRequest, ResourceMissing
from core.models import Customer
from credits import selectors, services
from credits.api import serializers as s
from credits.models import CreditBalanceTransaction, CreditGrant


def _customer(customer_id: str, param: str = "customer") -> Customer:
    """A customer named in a parameter: unknown ones are a 400, as Stripe's."""
    customer = (
        Customer.objects.filter(pk=customer_id, deleted=False)
        .select_related("test_clock")
        .first()
    )
    if customer is None:
        raise ResourceMissing(
            f"No such customer: '{customer_id}'", param=param, http_status=400
        )
    return customer


def _grant(grant_id: str) -> CreditGrant:
    return get_or_404(
        CreditGrant.objects.select_related("customer__test_clock"),
        grant_id,
        "billing.credit_grant",
    )


def _grant_of(customer: Customer, grant_id: str, param: str) -> str:
    if not CreditGrant.objects.filter(pk=grant_id, customer=customer).exists():
        raise ResourceMissing(
            f"No such credit grant: '{grant_id}'", param=param, http_status=400
        )
    return grant_id


class CreditGrantListView(StripeView):
    @extend_schema(
        operation_id="ListBillingCreditGrants",
        parameters=[s.CreditGrantListParams],
        responses=s.CreditGrantSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, s.CreditGrantListParams)
        customer_id = params.get("customer")
        if customer_id is not None:
            _customer(customer_id)
        rows = selectors.credit_grant_list(customer_id=customer_id)
        return self.render_list(
            request, rows, params, object_name="billing.credit_grant"
        )

    @extend_schema(
        operation_id="CreateBillingCreditGrant",
        request=s.CreditGrantCreateParams,
        responses=s.CreditGrantSerializer,
    )
    def post(self, request):
        params = self.parse(request, s.CreditGrantCreateParams)
        customer = _customer(params["customer"])
        monetary = params["amount"]["monetary"]
        scope = params["applicability_config"]["scope"]
        grant = services.credit_grant_create(
            customer=customer,
            value=monetary["value"],
            currency=monetary["currency"],
            prices=[price["id"] for price in scope["prices"]]
            if "prices" in scope
            else None,
            category=params.get("category", CreditGrant.Category.PAID),
            effective_at=params.get("effective_at"),
            expires_at=params.get("expires_at"),
            priority=params.get("priority", 50),
            name=params.get("name"),
            metadata=params.get("metadata"),
            now=clock.now_for_customer(customer),
        )
        return self.render(grant, params)


class CreditGrantDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveBillingCreditGrant",
        parameters=[ApiParams],
        responses=s.CreditGrantSerializer,
    )
    def get(self, request, grant_id):
        params = self.parse(request, ApiParams)
        return self.render(_grant(grant_id), params)

    @extend_schema(
        operation_id="UpdateBillingCreditGrant",
        request=s.CreditGrantUpdateParams,
        responses=s.CreditGrantSerializer,
    )
    def post(self, request, grant_id):
        params = self.parse(request, s.CreditGrantUpdateParams)
        grant = _grant(grant_id)
        grant = services.credit_grant_update(
            grant=grant,
            params=params,
            now=clock.now_for_customer(grant.customer),
        )
        return self.render(grant, params)


class CreditGrantExpireView(StripeView):
    @extend_schema(
        operation_id="ExpireBillingCreditGrant",
        request=ApiParams,
        responses=s.CreditGrantSerializer,
    )
    def post(self, request, grant_id):
        params = self.parse(request, ApiParams)
        grant = _grant(grant_id)
        grant = services.credit_grant_expire(
            grant=grant, now=clock.now_for_customer(grant.customer)
        )
        return self.render(grant, params)


class CreditGrantVoidView(StripeView):
    @extend_schema(
        operation_id="VoidBillingCreditGrant",
        request=ApiParams,
        responses=s.CreditGrantSerializer,
    )
    def post(self, request, grant_id):
        params = self.parse(request, ApiParams)
        grant = _grant(grant_id)
        grant = services.credit_grant_void(
            grant=grant, now=clock.now_for_customer(grant.customer)
        )
        return self.render(grant, params)


class CreditBalanceTransactionListView(StripeView):
    @extend_schema(
        operation_id="ListBillingCreditBalanceTransactions",
        parameters=[s.CreditTransactionListParams],
        responses=s.CreditBalanceTransactionSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, s.CreditTransactionListParams)
        customer = _customer(params["customer"])
        grant_id = params.get("credit_grant")
        if grant_id is not None:
            _grant_of(customer, grant_id, "credit_grant")
        rows = selectors.credit_transaction_list(
            customer_id=customer.pk, credit_grant_id=grant_id
        )
        return self.render_list(
            request, rows, params, object_name="billing.credit_balance_transaction"
        )


class CreditBalanceTransactionDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveBillingCreditBalanceTransaction",
        parameters=[ApiParams],
        responses=s.CreditBalanceTransactionSerializer,
    )
    def get(self, request, transaction_id):
        params = self.parse(request, ApiParams)
        entry = get_or_404(
            CreditBalanceTransaction.objects.select_related("credit_grant"),
            transaction_id,
            "billing.credit_balance_transaction",
        )
        return self.render(entry, params)


class CreditBalanceSummaryView(StripeView):
    @extend_schema(
        operation_id="RetrieveBillingCreditBalanceSummary",
        parameters=[s.CreditBalanceSummaryParams],
        responses=s.CreditBalanceSummarySerializer,
    )
    def get(self, request):
        params = self.parse(request, s.CreditBalanceSummaryParams)
        expand = params.get("expand", [])
        if any(path != "customer" for path in expand):
            bad = next(path for path in expand if path != "customer")
            raise InvalidRequest(
                f"This property cannot be expanded ({bad}).", param="expand"
            )
        customer = _customer(params["customer"])
        found = params["filter"]
        grant_id = found.get("credit_grant")
        if grant_id is not None:
            _grant_of(customer, grant_id, "filter[credit_grant]")
        scope = found.get("applicability_scope")
        balances = selectors.credit_balance_summary(
            customer_id=customer.pk,
            now=clock.now_for_customer(customer),
            credit_grant_id=grant_id,
            scope=None
            if scope is None
            else selectors.ScopeFilter(
                prices=frozenset(price["id"] for price in scope["prices"])
                if "prices" in scope
                else None
            ),
        )
        data = s.summary_data(customer=customer, balances=balances)
        if expand:
            data["customer"] = resources.serialize(customer)
        return Response(data)
