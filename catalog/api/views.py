"""``/v1/products`` and ``/v1/prices``: parse, call one service or selector, render."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from catalog import selectors, services
from catalog.api import serializers as s
from catalog.models import Price, Product
from core.api.base import StripeView, deleted, get_or_404
from core.api.fields import ApiParams


def _product(product_id: str) -> Product:
    return get_or_404(Product.objects.all(), product_id, "product")


def _price(price_id: str) -> Price:
    return get_or_404(selectors.prices_with_tiers(), price_id, "price")


class ProductListView(StripeView):
    """List products, or create one (optionally with its default price)."""

    @extend_schema(
        operation_id="ListProducts",
        parameters=[s.ProductListParams],
        responses=s.ProductSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, s.ProductListParams)
        rows = selectors.product_list(filters=params)
        return self.render_list(request, rows, params, object_name="product")

    @extend_schema(
        operation_id="CreateProduct",
        request=s.ProductCreateParams,
        responses=s.ProductSerializer,
    )
    def post(self, request):
        params = self.parse(request, s.ProductCreateParams)
        default_price_data = params.pop("default_price_data", None)
        product = services.product_create(
            params=params, prices=[default_price_data] if default_price_data else []
        )
        return self.render(product, params)


class ProductDetailView(StripeView):
    """Retrieve, update or delete a product (delete only without prices)."""

    @extend_schema(
        operation_id="RetrieveProduct",
        parameters=[ApiParams],
        responses=s.ProductSerializer,
    )
    def get(self, request, product_id):
        params = self.parse(request, ApiParams)
        return self.render(_product(product_id), params)

    @extend_schema(
        operation_id="UpdateProduct",
        request=s.ProductUpdateParams,
        responses=s.ProductSerializer,
    )
    def post(self, request, product_id):
        params = self.parse(request, s.ProductUpdateParams)
        product = services.product_update(product=_product(product_id), params=params)
        return self.render(product, params)

    @extend_schema(operation_id="DeleteProduct", responses=s.ProductSerializer)
    def delete(self, request, product_id):
        self.parse(request, ApiParams)
        services.product_delete(product=_product(product_id))
        return Response(deleted(product_id, "product"))


class PriceListView(StripeView):
    """List prices (active ones unless ``active=false``), or create one."""

    @extend_schema(
        operation_id="ListPrices",
        parameters=[s.PriceListParams],
        responses=s.PriceSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, s.PriceListParams)
        rows = selectors.price_list(filters=params)
        return self.render_list(request, rows, params, object_name="price")

    @extend_schema(
        operation_id="CreatePrice",
        request=s.PriceCreateParams,
        responses=s.PriceSerializer,
    )
    def post(self, request):
        params = self.parse(request, s.PriceCreateParams)
        return self.render(services.price_create(params=params), params)


class PriceDetailView(StripeView):
    """Retrieve a price, or update its mutable fields."""

    @extend_schema(
        operation_id="RetrievePrice",
        parameters=[ApiParams],
        responses=s.PriceSerializer,
    )
    def get(self, request, price_id):
        params = self.parse(request, ApiParams)
        return self.render(_price(price_id), params)

    @extend_schema(
        operation_id="UpdatePrice",
        request=s.PriceUpdateParams,
        responses=s.PriceSerializer,
    )
    def post(self, request, price_id):
        params = self.parse(request, s.PriceUpdateParams)
        price = services.price_update(price=_price(price_id), params=params)
        return self.render(price, params)
