"""Subscriptions that follow a rate card (docs/ratecards.md).

A subscription follows a card and either a pinned version or the latest
published one. The version in force for a period is chosen at the period's
start and kept for the whole period: its rates' prices are the subscription's
metered items, so the pipeline collects and rates them as any other item
(preview and invoice alike) and subscriptions without a card read nothing more.
At each period start (``rate_card_periods_start``, called as the period
advances) the items move to the version then in force: the pinned one, or the
card's latest. Publishing or migrating changes only what later periods bill.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from billing.models import Subscription, SubscriptionItem
from catalog.models import RateCard, RateCardRate, RateCardVersion
from core.bulk import bulk_save
from core.errors import InvalidRequest, ResourceMissing

LATEST = "latest"
# Items follow the rates in this order (rates set together: by display name).
RATE_ORDER = ("created", "metered_item__display_name", "id")


@dataclass(frozen=True)
class Following:
    """What a new subscription follows, and the version in force at its start."""

    card: RateCard
    pinned: RateCardVersion | None
    current: RateCardVersion
    entries: tuple[dict[str, Any], ...]  # item params, one per rate

    def apply(self, sub: Subscription) -> None:
        sub.rate_card = self.card
        sub.rate_card_version = self.pinned
        sub.rate_card_current_version = self.current


def rate_card_following(params: dict[str, Any]) -> Following | None:
    """Resolve ``rate_card`` and ``rate_card_version`` of a subscription create."""
    card_id, version_id = params.get("rate_card"), params.get("rate_card_version")
    if not card_id:
        if version_id:
            raise InvalidRequest(
                "rate_card_version needs rate_card.", param="rate_card_version"
            )
        return None
    card = RateCard.objects.filter(pk=card_id).first()
    if card is None:
        raise ResourceMissing.for_id("rate_card", card_id, param="rate_card")
    if not card.active:
        raise InvalidRequest(
            f"The rate card '{card.pk}' is inactive.", param="rate_card"
        )
    pinned = None
    if version_id and version_id != LATEST:
        pinned = card.versions.filter(pk=version_id).first()
        if pinned is None or not pinned.is_published:
            raise InvalidRequest(
                f"'{version_id}' is not a published version of the rate card "
                f"'{card.pk}'.",
                param="rate_card_version",
            )
    current = pinned or card.latest_version
    if current is None:
        raise InvalidRequest(
            f"The rate card '{card.pk}' has no published version yet.",
            param="rate_card",
        )
    prices = current.rates.order_by(*RATE_ORDER).values_list("price_id", flat=True)
    return Following(
        card=card,
        pinned=pinned,
        current=current,
        entries=tuple({"price": price_id} for price_id in prices),
    )


def _version_in_force(sub: Subscription, cards: dict[str, RateCard]) -> str:
    """The version rating a period that starts now: pinned, else the latest."""
    return sub.rate_card_version_id or cards[sub.rate_card_id].latest_version_id


def rate_card_periods_start(subs: Sequence[Subscription], *, now: datetime) -> None:
    """Give subscriptions whose new period just began the rates then in force.

    Subscriptions arrive locked, with ``_loaded_items`` on their new period. An
    item keeps its id across versions when its metered item stays (the new
    rate's price replaces the old); rates new to the version add items, items
    whose metered item the version dropped go.
    """
    following = [sub for sub in subs if sub.rate_card_id]
    if not following:
        return
    cards = RateCard.objects.in_bulk({sub.rate_card_id for sub in following})
    moving = [
        sub
        for sub in following
        if _version_in_force(sub, cards) != sub.rate_card_current_version_id
    ]
    if not moving:
        return
    versions = {sub.rate_card_current_version_id for sub in moving} | {
        _version_in_force(sub, cards) for sub in moving
    }
    rates: dict[str, list[RateCardRate]] = {version: [] for version in versions}
    for rate in (
        RateCardRate.objects.filter(rate_card_version__in=versions)
        .select_related("price__product", "price__recurring_meter")
        .order_by(*RATE_ORDER)
    ):
        rates[rate.rate_card_version_id].append(rate)
    changed: list[SubscriptionItem] = []
    for sub in moving:
        target = _version_in_force(sub, cards)
        changed += _move_items(
            sub, rates[sub.rate_card_current_version_id], rates[target], now
        )
        sub.rate_card_current_version_id = target
    bulk_save(changed, ["price"])
    bulk_save(moving, ["rate_card_current_version"])


def _move_items(
    sub: Subscription,
    old: list[RateCardRate],
    new: list[RateCardRate],
    now: datetime,
) -> list[SubscriptionItem]:
    """Swap the items of ``old`` rates for those of ``new``; the updated items."""
    item_of = {rate.metered_item_id: rate.price_id for rate in old}
    by_price = {item.price_id: item for item in sub._loaded_items}
    kept: dict[str, SubscriptionItem] = {}
    for metered_item, price_id in item_of.items():
        if price_id in by_price:
            kept[metered_item] = by_price.pop(price_id)
    others = list(by_price.values())  # items that are not the card's
    updated, added = [], []
    position = max((item.position for item in sub._loaded_items), default=-1)
    for rate in new:
        item = kept.pop(rate.metered_item_id, None)
        if item is None:
            position += 1
            item = SubscriptionItem(
                subscription=sub,
                price=rate.price,
                position=position,
                current_period_start=sub.current_period_start,
                current_period_end=sub.current_period_end,
                created=now,
                livemode=sub.livemode,
            )
            added.append(item)
        elif item.price_id != rate.price_id:
            item.price = rate.price
            updated.append(item)
        others.append(item)
    SubscriptionItem.objects.filter(pk__in=[item.pk for item in kept.values()]).delete()
    SubscriptionItem.objects.bulk_create(added)
    others.sort(key=lambda item: (item.position, item.created, item.pk))
    sub._loaded_items[:] = others
    return updated
