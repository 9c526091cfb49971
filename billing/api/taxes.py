"""``/v1/tax_rates`` and ``/v1/customers/{id}/tax_ids``: parse, one service, render."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from billing.api import tax_serializers as s
from billing.api.params import taxes as p
from billing.api.views import customer_of, now_for
from billing.models import TaxId, TaxRate
from billing.taxes import customer_tax_ids, rates
from core import clock
from core.api.base import StripeView, deleted, get_or_404
from core.api.fields import ApiParams, ListParams
from core.api.pagination import filter_range


def rate_of(tax_rate_id: str) -> TaxRate:
    return get_or_404(TaxRate.objects.all(), tax_rate_id, "tax_rate")


class TaxRateListView(StripeView):
    @extend_schema(
        operation_id="ListTaxRates",
        parameters=[p.TaxRateListParams],
        responses=s.TaxRateSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, p.TaxRateListParams)
        rows = rates.tax_rate_list(filters=params)
        rows = filter_range(rows, "created", params.get("created"))
        return self.render_list(request, rows, params, object_name="tax_rate")

    @extend_schema(
        operation_id="CreateTaxRate",
        request=p.TaxRateCreateParams,
        responses=s.TaxRateSerializer,
    )
    def post(self, request):
        params = self.parse(request, p.TaxRateCreateParams)
        rate = rates.tax_rate_create(params=params, now=clock.now())
        return self.render(rate, params)


class TaxRateDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveTaxRate",
        parameters=[ApiParams],
        responses=s.TaxRateSerializer,
    )
    def get(self, request, tax_rate_id):
        params = self.parse(request, ApiParams)
        return self.render(rate_of(tax_rate_id), params)

    @extend_schema(
        operation_id="UpdateTaxRate",
        request=p.TaxRateUpdateParams,
        responses=s.TaxRateSerializer,
    )
    def post(self, request, tax_rate_id):
        params = self.parse(request, p.TaxRateUpdateParams)
        rate = rates.tax_rate_update(rate=rate_of(tax_rate_id), params=params)
        return self.render(rate, params)


class CustomerTaxIdListView(StripeView):
    @extend_schema(
        operation_id="ListCustomerTaxIds",
        parameters=[ListParams],
        responses=s.TaxIdSerializer(many=True),
    )
    def get(self, request, customer_id):
        params = self.parse(request, ListParams)
        customer = customer_of(customer_id, param="id")
        rows = customer_tax_ids.customer_tax_ids(customer_id=customer.pk)
        return self.render_list(request, rows, params, object_name="tax_id")

    @extend_schema(
        operation_id="CreateCustomerTaxId",
        request=p.TaxIdCreateParams,
        responses=s.TaxIdSerializer,
    )
    def post(self, request, customer_id):
        params = self.parse(request, p.TaxIdCreateParams)
        customer = customer_of(customer_id, param="id")
        tax_id = customer_tax_ids.tax_id_create(
            customer=customer,
            tax_type=params["type"],
            value=params["value"],
            now=now_for(customer),
        )
        return self.render(tax_id, params)


def tax_id_of(customer_id: str, tax_id: str) -> TaxId:
    customer = customer_of(customer_id, param="id")
    return get_or_404(TaxId.objects.filter(customer=customer), tax_id, "tax_id")


class CustomerTaxIdDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveCustomerTaxId",
        parameters=[ApiParams],
        responses=s.TaxIdSerializer,
    )
    def get(self, request, customer_id, tax_id):
        params = self.parse(request, ApiParams)
        return self.render(tax_id_of(customer_id, tax_id), params)

    @extend_schema(operation_id="DeleteCustomerTaxId", responses=s.TaxIdSerializer)
    def delete(self, request, customer_id, tax_id):
        self.parse(request, ApiParams)
        customer_tax_ids.tax_id_delete(tax_id=tax_id_of(customer_id, tax_id))
        return Response(deleted(tax_id, "tax_id"))
