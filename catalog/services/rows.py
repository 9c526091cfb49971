"""Row writers shared by the product and price services.

They write without emitting events and rely on the caller's transaction, so a
product and its first price are created together or not at all.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, models, transaction

from catalog.models import Price, PriceTier, Product
from catalog.services.terms import PriceTerms
from core.errors import InvalidRequest, ResourceMissing
from core.metadata import metadata_merge
from core.services.events import event_emit_updated, snapshot


def meter_model() -> type[models.Model]:
    """Return ``metering.Meter`` through the foreign key (catalog never imports it)."""
    return Price._meta.get_field("recurring_meter").related_model


def active_meter(meter_id: str) -> models.Model:
    meter = meter_model()._default_manager.filter(pk=meter_id).first()
    if meter is None:
        raise ResourceMissing(
            f"No such billing meter: '{meter_id}'",
            param="recurring[meter]",
            http_status=400,
        )
    if meter.status != "active":
        raise InvalidRequest(
            f"The meter '{meter_id}' is inactive; metered prices need an active meter.",
            param="recurring[meter]",
        )
    return meter


def _check_segment(meter, segment: tuple[tuple[str, str], ...]) -> None:
    """Each condition names a dimension the meter declares."""
    declared = meter.dimension_payload_keys or []
    for index, (dimension, _value) in enumerate(segment):
        if dimension not in declared:
            raise InvalidRequest(
                f"The meter '{meter.pk}' has no dimension '{dimension}' (its "
                f"dimension_payload_keys: {', '.join(declared) or 'none'}).",
                param=f"recurring[meter_segment_conditions][{index}][dimension]",
            )


def price_insert(
    *, product: Product, terms: PriceTerms, params: dict[str, Any]
) -> Price:
    """Write a new price and its tiers (no event); the caller holds a transaction."""
    meter = active_meter(terms.meter_id) if terms.meter_id else None
    if terms.segment:
        _check_segment(meter, terms.segment)
    price = Price(
        product=product,
        currency=terms.currency,
        type=terms.type,
        billing_scheme=terms.billing_scheme,
        unit_amount_decimal=terms.unit_amount,
        tiers_mode=terms.tiers_mode,
        transform_quantity_divide_by=terms.divide_by,
        transform_quantity_round=terms.round,
        recurring_interval=terms.interval,
        recurring_interval_count=terms.interval_count,
        recurring_usage_type=terms.usage_type,
        recurring_meter=meter,
        recurring_trial_period_days=terms.trial_period_days,
        recurring_meter_segment_conditions=[
            {"dimension": dimension, "value": value}
            for dimension, value in terms.segment
        ],
        active=params.get("active", True) is not False,
        lookup_key=params.get("lookup_key") or None,
        nickname=params.get("nickname") or None,
        tax_behavior=params.get("tax_behavior") or Price.TaxBehavior.UNSPECIFIED,
        metadata=metadata_merge({}, params.get("metadata") or {}),
    )
    if price.lookup_key and price.active:
        free_lookup_key(price, transfer=bool(params.get("transfer_lookup_key")))
    save_checking_lookup_key(price)
    PriceTier.objects.bulk_create(
        PriceTier(
            price=price,
            position=position,
            up_to=tier.up_to,
            unit_amount_decimal=tier.unit_amount,
            flat_amount_decimal=tier.flat_amount,
        )
        for position, tier in enumerate(terms.tiers)
    )
    return price


def free_lookup_key(price: Price, *, transfer: bool) -> None:
    """Make ``price.lookup_key`` available: take it from its holder, or refuse."""
    holders = (
        Price.objects.select_for_update()
        .filter(lookup_key=price.lookup_key, active=True)
        .exclude(pk=price.pk)
        .order_by("pk")
    )
    for holder in holders:
        if not transfer:
            raise InvalidRequest(
                f"A price (`{holder.pk}`) already uses the lookup key "
                f"'{price.lookup_key}'. Pass transfer_lookup_key=true to move it.",
                param="lookup_key",
            )
        before = snapshot(holder)
        holder.lookup_key = None
        holder.save(update_fields=["lookup_key"])
        event_emit_updated(type="price.updated", instance=holder, before=before)


def save_checking_lookup_key(price: Price, **save_kwargs) -> None:
    # The partial unique index decides races between two requests claiming one key.
    try:
        with transaction.atomic():
            price.save(**save_kwargs)
    except IntegrityError as exc:
        if "lookup_key" not in str(exc):
            raise
        raise InvalidRequest(
            f"Another active price already uses the lookup key '{price.lookup_key}'.",
            param="lookup_key",
        ) from exc


def product_for(product_id: str) -> Product:
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise ResourceMissing(
            f"No such product: '{product_id}'", param="product", http_status=400
        )
    return product


# Product fields copied as given from validated parameters ("" already became None).
PRODUCT_FIELDS = (
    "name",
    "description",
    "active",
    "type",
    "unit_label",
    "statement_descriptor",
    "tax_code",
    "url",
    "images",
    "marketing_features",
    "shippable",
    "package_dimensions",
)
# Fields that fall back to their default instead of null when cleared.
PRODUCT_DEFAULTS = {
    "active": True,
    "type": "service",
    "images": [],
    "marketing_features": [],
}


def product_apply(product: Product, params: dict[str, Any]) -> None:
    """Copy the given product fields onto ``product``; ``None`` clears a field."""
    for field in PRODUCT_FIELDS:
        if field in params:
            value = params[field]
            if value is None and field in PRODUCT_DEFAULTS:
                value = PRODUCT_DEFAULTS[field]
            setattr(product, field, value)
    if "metadata" in params:
        product.metadata = metadata_merge(product.metadata, params["metadata"])


def product_insert(*, params: dict[str, Any]) -> Product:
    """Write a new product (no event); a custom ``id`` must be unused."""
    product = Product()
    if params.get("id"):
        product.pk = params["id"]
    product_apply(product, params)
    product.updated = product.created
    try:
        with transaction.atomic():
            product.save(force_insert=True)
    except IntegrityError as exc:
        if not Product.objects.filter(pk=product.pk).exists():
            raise
        raise InvalidRequest(
            f"A product with the id '{product.pk}' already exists.",
            param="id",
            code="resource_already_exists",
        ) from exc
    return product
