"""Prices: create, update (the mutable fields only), archive."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from catalog.models import Price
from catalog.services.rows import (
    free_lookup_key,
    price_insert,
    product_for,
    product_insert,
    save_checking_lookup_key,
)
from catalog.services.terms import price_terms_check
from core.errors import InvalidRequest
from core.metadata import metadata_merge
from core.services.events import event_emit, event_emit_updated, snapshot

TAX_BEHAVIORS_FIXED = ("inclusive", "exclusive")


@transaction.atomic
def price_create(*, params: dict[str, Any]) -> Price:
    """Create a price of ``params["product"]`` (an id) or of a new ``product_data``."""
    product_id, product_data = params.get("product"), params.get("product_data")
    if product_id and product_data:
        raise InvalidRequest(
            "You may only specify one of these parameters: product, product_data.",
            param="product_data",
        )
    if not product_id and not product_data:
        raise InvalidRequest(
            "Missing required param: product (or product_data).",
            param="product",
            code="parameter_missing",
        )
    terms = price_terms_check(params)
    product = (
        product_for(product_id) if product_id else product_insert(params=product_data)
    )
    price = price_insert(product=product, terms=terms, params=params)
    if product_data:
        event_emit(type="product.created", instance=product)
    event_emit(type="price.created", instance=price)
    return price


def _set_tax_behavior(price: Price, value: str | None) -> None:
    if value is None or value == price.tax_behavior:
        return
    if price.tax_behavior in TAX_BEHAVIORS_FIXED:
        raise InvalidRequest(
            "tax_behavior cannot be changed once it is inclusive or exclusive.",
            param="tax_behavior",
        )
    price.tax_behavior = value


def _set_active(price: Price, active: bool) -> None:
    if active == price.active:
        return
    if not active and price.product.default_price_id == price.pk:
        raise InvalidRequest(
            "This price cannot be archived because it is the default price of its "
            "product.",
            param="active",
        )
    price.active = active


@transaction.atomic
def price_update(*, price: Price, params: dict[str, Any]) -> Price:
    """Change what may change: active, lookup_key, nickname, tax_behavior, metadata."""
    price = Price.objects.select_for_update().select_related("product").get(pk=price.pk)
    before = snapshot(price)
    if "active" in params and params["active"] is not None:
        _set_active(price, params["active"])
    if "lookup_key" in params:
        price.lookup_key = params["lookup_key"] or None
    if "nickname" in params:
        price.nickname = params["nickname"] or None
    if "metadata" in params:
        price.metadata = metadata_merge(price.metadata, params["metadata"])
    _set_tax_behavior(price, params.get("tax_behavior"))
    if price.lookup_key and price.active:
        free_lookup_key(price, transfer=bool(params.get("transfer_lookup_key")))
    save_checking_lookup_key(price)
    event_emit_updated(type="price.updated", instance=price, before=before)
    return price
