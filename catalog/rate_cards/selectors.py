"""Reads of rate cards: versions and rates, with what rendering them needs."""

from __future__ import annotations

from django.db.models import QuerySet

from catalog.rate_cards.models import RateCard, RateCardRate, RateCardVersion
from core.errors import ResourceMissing


def rates_with_prices() -> QuerySet[RateCardRate]:
    """Rates with their metered item, price and tiers loaded."""
    return RateCardRate.objects.select_related(
        "metered_item", "price"
    ).prefetch_related("price__tiers")


def rate_card_version_shown(
    card: RateCard, version_id: str | None
) -> RateCardVersion | None:
    """The version named, else the latest published one, else the draft."""
    versions = card.versions.all()
    if version_id:
        version = versions.filter(pk=version_id).first()
        if version is None:
            raise ResourceMissing.for_id(
                "rate_card_version", version_id, param="rate_card_version"
            )
        return version
    if card.latest_version_id:
        return versions.get(pk=card.latest_version_id)
    return versions.filter(published_at__isnull=True).first()


def rate_card_rates(card: RateCard, version_id: str | None) -> QuerySet[RateCardRate]:
    """The rates of one version of the card (``rate_card_version_shown``)."""
    version = rate_card_version_shown(card, version_id)
    return rates_with_prices().filter(rate_card_version=version)
