"""Products: create (with their first prices), update, delete."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import ProtectedError, RestrictedError

from catalog.models import Price, Product
from catalog.services.rows import price_insert, product_apply, product_insert
from catalog.services.terms import price_terms_check
from core import clock
from core.errors import InvalidRequest, InvalidState, ResourceMissing
from core.services.events import event_emit, event_emit_updated, event_record, snapshot


@transaction.atomic
def product_create(
    *, params: dict[str, Any], prices: Sequence[dict[str, Any]] = ()
) -> Product:
    """Create a product and its ``prices``; the first price becomes the default.

    Each entry of ``prices`` holds price parameters without ``product`` (the API's
    ``default_price_data`` is one such entry).
    """
    terms = [price_terms_check(price_params) for price_params in prices]
    product = product_insert(params=params)
    created = [
        price_insert(product=product, terms=price_terms, params=price_params)
        for price_terms, price_params in zip(terms, prices, strict=True)
    ]
    if created:
        product.default_price = created[0]
        product.save(update_fields=["default_price"])
    event_emit(type="product.created", instance=product)
    for price in created:
        event_emit(type="price.created", instance=price)
    return product


def _default_price(product: Product, price_id: str) -> Price:
    price = Price.objects.filter(pk=price_id).first()
    if price is None:
        raise ResourceMissing(
            f"No such price: '{price_id}'", param="default_price", http_status=400
        )
    if price.product_id != product.pk:
        raise InvalidRequest(
            "The default price must be a price of this product.", param="default_price"
        )
    if not price.active:
        raise InvalidRequest(
            "The price specified is inactive. This field only accepts active prices.",
            param="default_price",
        )
    return price


@transaction.atomic
def product_update(*, product: Product, params: dict[str, Any]) -> Product:
    """Update the given fields; ``default_price`` is a price id of this product."""
    product = Product.objects.select_for_update().get(pk=product.pk)
    before = snapshot(product)
    product_apply(product, params)
    if "default_price" in params:
        price_id = params["default_price"]
        product.default_price = _default_price(product, price_id) if price_id else None
    if snapshot(product) == before:
        return product
    product.updated = clock.now()
    product.save()
    event_emit_updated(type="product.updated", instance=product, before=before)
    return product


@transaction.atomic
def product_delete(*, product: Product) -> None:
    """Delete a product that has no prices (archive it otherwise)."""
    product = Product.objects.select_for_update().get(pk=product.pk)
    if product.prices.exists():
        raise InvalidState(
            "This product cannot be deleted because it has one or more user-created "
            "prices. Archive it instead (active=false)."
        )
    data = snapshot(product)
    try:
        with transaction.atomic():
            product.delete()
    except (ProtectedError, RestrictedError) as exc:
        raise InvalidState(
            "This product cannot be deleted because other objects refer to it. "
            "Archive it instead (active=false)."
        ) from exc
    event_record(type="product.deleted", data_object=data)
