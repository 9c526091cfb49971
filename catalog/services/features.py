"""Entitlement features and the features attached to products.

Every object belongs to one mode: ``livemode`` is set from the caller's key on
create, and lookups only find objects of the same mode.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from catalog.models import Feature, Product, ProductFeature
from catalog.signals import product_features_changed
from core import clock
from core.errors import InvalidRequest, ResourceMissing
from core.metadata import metadata_merge


def feature_create(
    *, name: str, lookup_key: str, metadata: dict[str, str] | None, livemode: bool
) -> Feature:
    """Create a feature; its ``lookup_key`` must be unused in this mode."""
    feature = Feature(
        name=name,
        lookup_key=lookup_key,
        livemode=livemode,
        metadata=metadata_merge({}, metadata or {}),
    )
    feature.updated = feature.created
    try:
        with transaction.atomic():
            feature.save(force_insert=True)
    except IntegrityError as exc:
        raise InvalidRequest(
            f"A feature with the lookup key '{lookup_key}' already exists.",
            param="lookup_key",
            code="resource_already_exists",
        ) from exc
    return feature


@transaction.atomic
def feature_update(*, feature: Feature, params: dict[str, Any]) -> Feature:
    """Change ``name``, ``active`` or ``metadata`` (the lookup key never changes)."""
    feature = Feature.objects.select_for_update().get(pk=feature.pk)
    if params.get("name") is not None:
        feature.name = params["name"]
    if params.get("active") is not None:
        feature.active = params["active"]
    if "metadata" in params:
        feature.metadata = metadata_merge(feature.metadata, params["metadata"])
    feature.updated = clock.now()
    feature.save()
    return feature


def _feature_for(feature_id: str, livemode: bool) -> Feature:
    feature = Feature.objects.filter(pk=feature_id, livemode=livemode).first()
    if feature is None:
        raise ResourceMissing(
            f"No such feature: '{feature_id}'",
            param="entitlement_feature",
            http_status=400,
        )
    if not feature.active:
        raise InvalidRequest(
            "The feature is archived; archived features cannot be attached to "
            "products.",
            param="entitlement_feature",
        )
    return feature


@transaction.atomic
def product_feature_create(
    *, product: Product, feature_id: str, livemode: bool
) -> ProductFeature:
    """Attach an active feature to the product, once; subscribers gain it."""
    feature = _feature_for(feature_id, livemode)
    attached = ProductFeature(product=product, feature=feature, livemode=livemode)
    try:
        with transaction.atomic():
            attached.save(force_insert=True)
    except IntegrityError as exc:
        raise InvalidRequest(
            f"The feature '{feature_id}' is already attached to this product.",
            param="entitlement_feature",
            code="resource_already_exists",
        ) from exc
    product_features_changed.send(sender=ProductFeature, product_id=product.pk)
    return attached


@transaction.atomic
def product_feature_delete(*, product_feature: ProductFeature) -> None:
    """Detach the feature from its product; subscribers lose it (unless held else)."""
    product_id = product_feature.product_id
    ProductFeature.objects.filter(pk=product_feature.pk).delete()
    product_features_changed.send(sender=ProductFeature, product_id=product_id)
