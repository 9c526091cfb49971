"""Metered items, rate cards, rates and publishing versions (writes).

Rates go to the card's draft version, made on first need as a copy of the
latest published version's rates. Publishing freezes the draft: it becomes the
card's ``latest_version`` (and ``live_version``), and nothing writes to it
again — every write below locks the card first and refuses a published version.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction

from catalog.models import Price, Product
from catalog.rate_cards.models import (
    MeteredItem,
    RateCard,
    RateCardRate,
    RateCardVersion,
)
from catalog.segments import segment_of, segments_overlap
from catalog.services.rows import active_meter, price_insert
from catalog.services.terms import MAX_INTERVAL_COUNT, price_terms_check
from core.errors import InvalidRequest, InvalidState, ResourceMissing
from core.metadata import metadata_merge

# Product.unit_label is Stripe's v1 length; a metered item's may be longer.
PRODUCT_UNIT_LABEL = 12


def _conditions(meter, conditions: list[dict[str, str]]) -> list[dict[str, str]]:
    """Conditions on dimensions the meter declares, one per dimension, sorted."""
    declared = meter.dimension_payload_keys or []
    seen: set[str] = set()
    for index, condition in enumerate(conditions):
        dimension = condition["dimension"]
        param = f"meter_segment_conditions[{index}][dimension]"
        if dimension not in declared:
            raise InvalidRequest(
                f"The meter '{meter.pk}' has no dimension '{dimension}' (its "
                f"dimension_payload_keys: {', '.join(declared) or 'none'}).",
                param=param,
            )
        if dimension in seen:
            raise InvalidRequest(
                f"The dimension '{dimension}' has two conditions; a segment names "
                "each dimension once.",
                param=param,
            )
        seen.add(dimension)
    return sorted(
        ({"dimension": c["dimension"], "value": c["value"]} for c in conditions),
        key=lambda c: c["dimension"],
    )


def _lookup_key_saved(obj, **save_kwargs) -> None:
    # The partial unique index decides races between two requests claiming a key.
    try:
        with transaction.atomic():
            obj.save(**save_kwargs)
    except IntegrityError as exc:
        if "lookup_key" not in str(exc):
            raise
        raise InvalidRequest(
            f"Another {obj._meta.verbose_name} already uses the lookup key "
            f"'{obj.lookup_key}'.",
            param="lookup_key",
        ) from exc


@transaction.atomic
def metered_item_create(*, params: dict[str, Any], now: datetime) -> MeteredItem:
    """Create a metered item on a meter (or a segment of it) and its product."""
    meter = active_meter(params["meter"])
    conditions = _conditions(meter, params.get("meter_segment_conditions") or [])
    label = params.get("unit_label") or None
    product = Product.objects.create(
        name=params["display_name"],
        unit_label=label[:PRODUCT_UNIT_LABEL] if label else None,
        created=now,
        updated=now,
    )
    item = MeteredItem(
        display_name=params["display_name"],
        meter=meter,
        meter_segment_conditions=conditions,
        unit_label=label,
        lookup_key=params.get("lookup_key") or None,
        product=product,
        metadata=metadata_merge({}, params.get("metadata") or {}),
        created=now,
    )
    _lookup_key_saved(item, force_insert=True)
    return item


@transaction.atomic
def metered_item_update(*, item: MeteredItem, params: dict[str, Any]) -> MeteredItem:
    """Change the names and metadata (meter and segment never change)."""
    item = MeteredItem.objects.select_for_update().get(pk=item.pk)
    product = Product.objects.select_for_update().get(pk=item.product_id)
    if params.get("display_name"):
        item.display_name = product.name = params["display_name"]
    if "unit_label" in params:
        item.unit_label = params["unit_label"] or None
        label = item.unit_label
        product.unit_label = label[:PRODUCT_UNIT_LABEL] if label else None
    if "lookup_key" in params:
        item.lookup_key = params["lookup_key"] or None
    if "metadata" in params:
        item.metadata = metadata_merge(item.metadata, params["metadata"] or {})
    product.save(update_fields=["name", "unit_label"])
    _lookup_key_saved(item)
    return item


def rate_card_create(*, params: dict[str, Any], now: datetime) -> RateCard:
    """Create a rate card; it has no version until the first rate is set."""
    interval = params["service_interval"]
    count = params.get("service_interval_count") or 1
    if count > MAX_INTERVAL_COUNT[interval]:
        raise InvalidRequest(
            "A service interval may be at most three years.",
            param="service_interval_count",
        )
    card = RateCard(
        display_name=params["display_name"],
        currency=params["currency"].lower(),
        service_interval=interval,
        service_interval_count=count,
        tax_behavior=params.get("tax_behavior") or RateCard.TaxBehavior.EXCLUSIVE,
        lookup_key=params.get("lookup_key") or None,
        metadata=metadata_merge({}, params.get("metadata") or {}),
        created=now,
    )
    _lookup_key_saved(card, force_insert=True)
    return card


@transaction.atomic
def rate_card_update(*, card: RateCard, params: dict[str, Any]) -> RateCard:
    """Change display name, active, lookup key and metadata."""
    card = RateCard.objects.select_for_update().get(pk=card.pk)
    if params.get("display_name"):
        card.display_name = params["display_name"]
    if params.get("active") is not None:
        card.active = params["active"]
    if "lookup_key" in params:
        card.lookup_key = params["lookup_key"] or None
    if "metadata" in params:
        card.metadata = metadata_merge(card.metadata, params["metadata"] or {})
    _lookup_key_saved(card)
    return card


def _locked(card: RateCard) -> RateCard:
    return RateCard.objects.select_for_update().get(pk=card.pk)


def _draft(card: RateCard, now: datetime) -> RateCardVersion:
    """The card's draft version; a new one copies the latest published rates."""
    draft = card.versions.filter(published_at__isnull=True).first()
    if draft is not None:
        return draft
    number, created = card.versions.order_by("-number").values_list(
        "number", "created"
    ).first() or (0, None)
    # Strictly after the version before, so lists (newest first) keep the numbers'
    # order even when both were made at one moment (a test clock, a fixed ``now``).
    if created is not None and created >= now:
        now = created + timedelta(microseconds=1)
    draft = RateCardVersion.objects.create(
        rate_card=card, number=number + 1, created=now, livemode=card.livemode
    )
    if card.latest_version_id:
        RateCardRate.objects.bulk_create(
            RateCardRate(
                rate_card=card,
                rate_card_version=draft,
                metered_item_id=rate.metered_item_id,
                price_id=rate.price_id,
                metadata=rate.metadata,
                created=now,
                livemode=card.livemode,
            )
            for rate in card.rates.filter(rate_card_version=card.latest_version_id)
        )
    return draft


def _writable_version(card: RateCard, version_id: str | None, now) -> RateCardVersion:
    """The version a rate change goes to: the draft; a published one is refused."""
    if version_id:
        version = card.versions.filter(pk=version_id).first()
        if version is None:
            raise ResourceMissing.for_id(
                "rate_card_version", version_id, param="rate_card_version"
            )
        if version.is_published:
            raise InvalidState(
                f"The rate card version '{version.pk}' is published; published "
                "versions never change. Set rates without rate_card_version to "
                "change the draft, then publish it as a new version.",
                param="rate_card_version",
                code="rate_card_version_published",
            )
        return version
    return _draft(card, now)


def _check_overlap(version: RateCardVersion, item: MeteredItem) -> None:
    """Two rates of one meter in a version must not share an event."""
    mine = segment_of(item.meter_segment_conditions)
    others = version.rates.select_related("metered_item").filter(
        metered_item__meter_id=item.meter_id
    )
    for rate in others.exclude(metered_item=item):
        theirs = segment_of(rate.metered_item.meter_segment_conditions)
        if segments_overlap(mine, theirs):
            raise InvalidRequest(
                f"The metered item '{item.pk}' overlaps '{rate.metered_item_id}' "
                f"(rate '{rate.pk}'): both bill some events of the meter "
                f"'{item.meter_id}'. Give them segments that differ in a dimension.",
                param="metered_item",
                code="rate_card_segments_overlap",
            )


def _rate_price(card: RateCard, version, item: MeteredItem, params) -> Price:
    """The metered catalog price that carries a rate's amounts and tiers."""
    tiers = params.get("tiers") or []
    terms = price_terms_check(
        {
            "currency": card.currency,
            "billing_scheme": "tiered" if tiers else "per_unit",
            "unit_amount_decimal": params.get("unit_amount"),
            "tiers_mode": params.get("tiering_mode"),
            "tiers": [
                {
                    "up_to": tier.get("up_to"),
                    "unit_amount_decimal": tier.get("unit_amount"),
                    "flat_amount_decimal": tier.get("flat_amount"),
                }
                for tier in tiers
            ],
            "transform_quantity": params.get("transform_quantity"),
            "recurring": {
                "interval": card.service_interval,
                "interval_count": card.service_interval_count,
                "usage_type": "metered",
                "meter": item.meter_id,
                "meter_segment_conditions": item.meter_segment_conditions,
            },
        }
    )
    return price_insert(
        product=item.product,
        terms=terms,
        params={
            "nickname": f"{card.display_name} v{version.number}",
            "tax_behavior": card.tax_behavior,
        },
    )


@transaction.atomic
def rate_set(*, card: RateCard, params: dict[str, Any], now: datetime) -> RateCardRate:
    """Set a metered item's rate on the card's draft (replacing its draft rate)."""
    card = _locked(card)
    if not card.active:
        raise InvalidState(
            f"The rate card '{card.pk}' is inactive; activate it to set rates.",
            param="rate_card",
        )
    item = (
        MeteredItem.objects.select_related("meter", "product")
        .filter(pk=params["metered_item"])
        .first()
    )
    if item is None:
        raise ResourceMissing.for_id(
            "metered_item", params["metered_item"], param="metered_item"
        )
    version = _writable_version(card, params.get("rate_card_version"), now)
    _check_overlap(version, item)
    if item.meter.status != "active":
        raise InvalidRequest(
            f"The meter '{item.meter_id}' is inactive.", param="metered_item"
        )
    for replaced in version.rates.filter(metered_item=item):
        replaced.delete()
        _archive_unused(replaced.price_id)
    price = _rate_price(card, version, item, params)
    return RateCardRate.objects.create(
        rate_card=card,
        rate_card_version=version,
        metered_item=item,
        price=price,
        metadata=metadata_merge({}, params.get("metadata") or {}),
        created=now,
        livemode=card.livemode,
    )


@transaction.atomic
def rate_delete(*, card: RateCard, rate: RateCardRate) -> RateCardRate:
    """Remove a rate from the draft version (a published one never changes)."""
    card = _locked(card)
    version = RateCardVersion.objects.get(pk=rate.rate_card_version_id)
    _writable_version(card, version.pk, None)
    rate.delete()
    _archive_unused(rate.price_id)
    return rate


def _archive_unused(price_id: str) -> None:
    """Archive a rate's price once no version has it (a draft rate replaced)."""
    if not RateCardRate.objects.filter(price_id=price_id).exists():
        Price.objects.filter(pk=price_id).update(active=False)


@transaction.atomic
def rate_card_version_publish(
    *, card: RateCard, version: RateCardVersion, now: datetime
) -> RateCardVersion:
    """Publish the draft: it becomes the latest version and never changes again."""
    card = _locked(card)
    version = _writable_version(card, version.pk, now)
    if not version.rates.exists():
        raise InvalidRequest(
            "A version needs at least one rate to be published.",
            param="rate_card_version",
        )
    version.published_at = now
    version.save(update_fields=["published_at"])
    card.latest_version = card.live_version = version
    card.save(update_fields=["latest_version", "live_version"])
    return version
