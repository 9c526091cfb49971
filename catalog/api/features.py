"""``/v1/entitlements/features`` and ``/v1/products/{id}/features``.

Shapes of ``entitlements.feature`` and ``product_feature``; every lookup and list
is limited to the mode of the caller's API key.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from catalog import selectors, services
from catalog.models import Feature, Product, ProductFeature
from core import context as request_context
from core import resources
from core.api.base import StripeView, deleted, get_or_404
from core.api.fields import (
    ApiParams,
    ConstField,
    ListParams,
    MetadataField,
)

# ---- input ---------------------------------------------------------------------


class FeatureCreateParams(ApiParams):
    name = serializers.CharField(max_length=80)
    lookup_key = serializers.CharField(max_length=80)
    metadata = MetadataField()


class FeatureUpdateParams(ApiParams):
    name = serializers.CharField(max_length=80, required=False)
    active = serializers.BooleanField(required=False)
    metadata = MetadataField()


class FeatureListParams(ListParams):
    lookup_key = serializers.CharField(max_length=80, required=False)
    archived = serializers.BooleanField(required=False, allow_null=True, default=None)


class ProductFeatureCreateParams(ApiParams):
    entitlement_feature = serializers.CharField(max_length=64)


# ---- output --------------------------------------------------------------------


class FeatureSerializer(serializers.Serializer):
    """``entitlements.feature`` (Stripe's shape has no ``created``)."""

    id = serializers.CharField(read_only=True)
    object = ConstField("entitlements.feature")
    active = serializers.BooleanField(read_only=True)
    livemode = serializers.BooleanField(read_only=True)
    lookup_key = serializers.CharField(read_only=True)
    metadata = serializers.DictField(child=serializers.CharField(), read_only=True)
    name = serializers.CharField(read_only=True)


class ProductFeatureSerializer(serializers.Serializer):
    """``product_feature``: the feature is always shown whole, as Stripe does."""

    id = serializers.CharField(read_only=True)
    object = ConstField("product_feature")
    entitlement_feature = serializers.SerializerMethodField()
    livemode = serializers.BooleanField(read_only=True)

    @extend_schema_field(FeatureSerializer)
    def get_entitlement_feature(self, attached: ProductFeature) -> dict:
        return resources.serialize(attached.feature)


# ---- views ---------------------------------------------------------------------


def _livemode() -> bool:
    return request_context.current().livemode


def _feature(feature_id: str) -> Feature:
    rows = Feature.objects.filter(livemode=_livemode())
    return get_or_404(rows, feature_id, "entitlements.feature")


def _product(product_id: str) -> Product:
    rows = Product.objects.filter(livemode=_livemode())
    return get_or_404(rows, product_id, "product", param="product")


class FeatureListView(StripeView):
    """List features, or create one."""

    @extend_schema(
        operation_id="ListEntitlementsFeatures",
        parameters=[FeatureListParams],
        responses=FeatureSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, FeatureListParams)
        rows = selectors.feature_list(
            livemode=_livemode(),
            lookup_key=params.get("lookup_key"),
            archived=params.get("archived"),
        )
        return self.render_list(
            request, rows, params, object_name="entitlements.feature"
        )

    @extend_schema(
        operation_id="CreateEntitlementsFeature",
        request=FeatureCreateParams,
        responses=FeatureSerializer,
    )
    def post(self, request):
        params = self.parse(request, FeatureCreateParams)
        feature = services.feature_create(
            name=params["name"],
            lookup_key=params["lookup_key"],
            metadata=params.get("metadata"),
            livemode=_livemode(),
        )
        return self.render(feature, params)


class FeatureDetailView(StripeView):
    """Retrieve a feature, or update its name, metadata or ``active``."""

    @extend_schema(
        operation_id="RetrieveEntitlementsFeature",
        parameters=[ApiParams],
        responses=FeatureSerializer,
    )
    def get(self, request, feature_id):
        params = self.parse(request, ApiParams)
        return self.render(_feature(feature_id), params)

    @extend_schema(
        operation_id="UpdateEntitlementsFeature",
        request=FeatureUpdateParams,
        responses=FeatureSerializer,
    )
    def post(self, request, feature_id):
        params = self.parse(request, FeatureUpdateParams)
        feature = services.feature_update(feature=_feature(feature_id), params=params)
        return self.render(feature, params)


class ProductFeatureListView(StripeView):
    """List the features attached to a product, or attach one."""

    @extend_schema(
        operation_id="ListProductFeatures",
        parameters=[ListParams],
        responses=ProductFeatureSerializer(many=True),
    )
    def get(self, request, product_id):
        params = self.parse(request, ListParams)
        product = _product(product_id)
        rows = selectors.product_feature_list(
            product_id=product.pk, livemode=_livemode()
        )
        return self.render_list(request, rows, params, object_name="product_feature")

    @extend_schema(
        operation_id="CreateProductFeature",
        request=ProductFeatureCreateParams,
        responses=ProductFeatureSerializer,
    )
    def post(self, request, product_id):
        params = self.parse(request, ProductFeatureCreateParams)
        attached = services.product_feature_create(
            product=_product(product_id),
            feature_id=params["entitlement_feature"],
            livemode=_livemode(),
        )
        return self.render(attached, params)


def _product_feature(product_id: str, attached_id: str) -> ProductFeature:
    rows = selectors.product_feature_list(
        product_id=_product(product_id).pk, livemode=_livemode()
    )
    return get_or_404(rows, attached_id, "product_feature")


class ProductFeatureDetailView(StripeView):
    """Retrieve or detach one feature of a product."""

    @extend_schema(
        operation_id="RetrieveProductFeature",
        parameters=[ApiParams],
        responses=ProductFeatureSerializer,
    )
    def get(self, request, product_id, attached_id):
        params = self.parse(request, ApiParams)
        return self.render(_product_feature(product_id, attached_id), params)

    @extend_schema(
        operation_id="DeleteProductFeature", responses=ProductFeatureSerializer
    )
    def delete(self, request, product_id, attached_id):
        self.parse(request, ApiParams)
        attached = _product_feature(product_id, attached_id)
        services.product_feature_delete(product_feature=attached)
        return Response(deleted(attached_id, "product_feature"))
