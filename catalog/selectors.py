"""Reads of the catalog app: prices as pricing-engine specs, filtered lists."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet

from catalog.models import Feature, Price, PriceTier, Product, ProductFeature
from catalog.pricing import LineAmount, PriceSpec, Tier, price_amount
from core.api.pagination import filter_range
from core.errors import InvalidRequest, ResourceMissing


def price_spec(price: Price) -> PriceSpec:
    """Return the pricing-engine description of ``price``.

    A licensed flat price is a per-unit price: the engine multiplies by the
    subscription item's quantity. Tier amounts left unset count as zero.
    """
    if price.billing_scheme == Price.BillingScheme.TIERED:
        tiers = tuple(
            Tier(
                up_to=tier.up_to,
                unit_amount=tier.unit_amount_decimal or Decimal(0),
                flat_amount=tier.flat_amount_decimal or Decimal(0),
            )
            for tier in price.tiers.all()
        )
        return PriceSpec(
            currency=price.currency,
            billing_scheme="tiered",
            unit_amount=None,
            tiers_mode=price.tiers_mode,
            tiers=tiers,
        )
    return PriceSpec(
        currency=price.currency,
        billing_scheme="per_unit",
        unit_amount=price.unit_amount_decimal,
        divide_by=price.transform_quantity_divide_by,
        round=price.transform_quantity_round,
    )


def prices_with_tiers(queryset: QuerySet[Price] | None = None) -> QuerySet[Price]:
    """Prices with their tiers loaded in one extra query, ready for ``price_spec``."""
    queryset = Price.objects.all() if queryset is None else queryset
    return queryset.prefetch_related(
        Prefetch("tiers", queryset=PriceTier.objects.order_by("position"))
    )


def price_get_active(*, price_id: str, param: str = "price") -> Price:
    """Return an active price (tiers loaded) named by a request parameter.

    For parameters such as ``items[0][price]``: a missing price is a 400
    ``resource_missing`` and an archived one a 400, both naming ``param``.
    """
    price = prices_with_tiers().select_related("product").filter(pk=price_id).first()
    if price is None:
        raise ResourceMissing(
            f"No such price: '{price_id}'", param=param, http_status=400
        )
    if not price.active:
        raise InvalidRequest(
            "The price specified is inactive. This field only accepts active prices.",
            param=param,
        )
    return price


def product_list(*, filters: dict[str, Any]) -> QuerySet[Product]:
    """Products matching the API list filters (``active``, ``ids``, ``created``...)."""
    rows = Product.objects.all()
    for field in ("active", "shippable", "type", "url"):
        if filters.get(field) is not None:
            rows = rows.filter(**{field: filters[field]})
    if filters.get("ids"):
        rows = rows.filter(pk__in=filters["ids"])
    return filter_range(rows, "created", filters.get("created"))


def price_list(*, filters: dict[str, Any]) -> QuerySet[Price]:
    """Prices matching the API's list filters; only active ones unless ``active``."""
    active = filters.get("active")
    rows = prices_with_tiers().filter(active=True if active is None else active)
    if filters.get("currency"):
        rows = rows.filter(currency=filters["currency"].lower())
    if filters.get("product"):
        rows = rows.filter(product_id=filters["product"])
    if filters.get("type"):
        rows = rows.filter(type=filters["type"])
    if filters.get("lookup_keys"):
        rows = rows.filter(lookup_key__in=filters["lookup_keys"])
    recurring = filters.get("recurring") or {}
    for key in ("interval", "usage_type", "meter"):
        if recurring.get(key):
            rows = rows.filter(**{f"recurring_{key}": recurring[key]})
    return filter_range(rows, "created", filters.get("created"))


@dataclass(frozen=True)
class WorkedExample:
    """What a price charges at one quantity, computed by the pricing engine."""

    quantity: int
    line: LineAmount
    spec: PriceSpec


def price_example_quantity(price: Price) -> int:
    """Pick a quantity that shows how the price works.

    Tiered: the end of the first tier plus half of it (150,000 for a 100,000-unit
    first tier), so the example crosses into the second tier. Package: two and a
    half packages, so rounding shows. Metered per unit: 1,000 units. Otherwise 1.
    """
    if price.billing_scheme == Price.BillingScheme.TIERED:
        first = next(iter(price.tiers.all()), None)
        if first is None or first.up_to is None:
            return 100
        return first.up_to + first.up_to // 2 if first.up_to > 1 else 2
    if price.transform_quantity_divide_by:
        return price.transform_quantity_divide_by * 5 // 2 or 1
    if price.is_metered:
        return 1000
    return 1


def price_worked_example(*, price: Price, quantity: int | None = None) -> WorkedExample:
    """Price ``quantity`` units (or a telling default) through the engine."""
    if quantity is None:
        quantity = price_example_quantity(price)
    spec = price_spec(price)
    return WorkedExample(
        quantity=quantity, line=price_amount(spec, Decimal(quantity)), spec=spec
    )


def feature_list(
    *, livemode: bool, lookup_key: str | None = None, archived: bool | None = None
) -> QuerySet[Feature]:
    """Features of one mode; archived ones only when ``archived`` is true."""
    rows = Feature.objects.filter(livemode=livemode, active=not archived)
    if lookup_key:
        rows = rows.filter(lookup_key=lookup_key)
    return rows


def product_feature_list(
    *, product_id: str, livemode: bool
) -> QuerySet[ProductFeature]:
    """The features attached to one product, with each feature loaded."""
    return ProductFeature.objects.filter(
        product_id=product_id, livemode=livemode
    ).select_related("feature")
