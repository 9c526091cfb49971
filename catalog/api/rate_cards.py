"""``/v2/billing/metered_items`` and ``/v2/billing/rate_cards`` (+ versions, rates).

Stripe's v2 preview shapes and conventions (``core.api.v2``): JSON bodies, RFC
3339 times, ``{"error": {type, code, message}}``, lists with ``next_page_url``.
Every lookup is limited to the API key's mode.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from catalog.api import rate_card_shapes as shapes
from catalog.models import MeteredItem, RateCard, RateCardVersion
from catalog.rate_cards import selectors
from catalog.rate_cards import services as rate_cards
from core import clock
from core.api.base import get_or_404
from core.api.v2 import V2View, v2_list

ANY = {200: OpenApiTypes.OBJECT}


def _card(card_id: str) -> RateCard:
    return get_or_404(RateCard.objects.all(), card_id, "rate_card")


class MeteredItemListView(V2View):
    @extend_schema(operation_id="ListV2MeteredItems", responses=ANY)
    def get(self, request):
        items = MeteredItem.objects.all()
        return Response(v2_list(request, items, shapes.metered_item))

    @extend_schema(
        operation_id="CreateV2MeteredItem",
        request=shapes.MeteredItemCreateParams,
        responses=ANY,
    )
    def post(self, request):
        params = self.parse_body(request, shapes.MeteredItemCreateParams)
        item = rate_cards.metered_item_create(params=params, now=clock.now())
        return Response(shapes.metered_item(item))


class MeteredItemDetailView(V2View):
    @extend_schema(operation_id="RetrieveV2MeteredItem", responses=ANY)
    def get(self, request, item_id: str):
        item = get_or_404(MeteredItem.objects.all(), item_id, "metered_item")
        return Response(shapes.metered_item(item))

    @extend_schema(
        operation_id="UpdateV2MeteredItem",
        request=shapes.MeteredItemUpdateParams,
        responses=ANY,
    )
    def post(self, request, item_id: str):
        item = get_or_404(MeteredItem.objects.all(), item_id, "metered_item")
        params = self.parse_body(request, shapes.MeteredItemUpdateParams)
        item = rate_cards.metered_item_update(item=item, params=params)
        return Response(shapes.metered_item(item))


class RateCardListView(V2View):
    @extend_schema(operation_id="ListV2RateCards", responses=ANY)
    def get(self, request):
        return Response(v2_list(request, RateCard.objects.all(), shapes.rate_card))

    @extend_schema(
        operation_id="CreateV2RateCard",
        request=shapes.RateCardCreateParams,
        responses=ANY,
    )
    def post(self, request):
        params = self.parse_body(request, shapes.RateCardCreateParams)
        card = rate_cards.rate_card_create(params=params, now=clock.now())
        return Response(shapes.rate_card(card))


class RateCardDetailView(V2View):
    @extend_schema(operation_id="RetrieveV2RateCard", responses=ANY)
    def get(self, request, rate_card_id: str):
        return Response(shapes.rate_card(_card(rate_card_id)))

    @extend_schema(
        operation_id="UpdateV2RateCard",
        request=shapes.RateCardUpdateParams,
        responses=ANY,
    )
    def post(self, request, rate_card_id: str):
        card = _card(rate_card_id)
        params = self.parse_body(request, shapes.RateCardUpdateParams)
        card = rate_cards.rate_card_update(card=card, params=params)
        return Response(shapes.rate_card(card))


class RateCardVersionListView(V2View):
    @extend_schema(operation_id="ListV2RateCardVersions", responses=ANY)
    def get(self, request, rate_card_id: str):
        versions = _card(rate_card_id).versions.all()
        return Response(v2_list(request, versions, shapes.rate_card_version))


def _version(rate_card_id: str, version_id: str) -> tuple[RateCard, RateCardVersion]:
    card = _card(rate_card_id)
    version = get_or_404(card.versions.all(), version_id, "rate_card_version")
    return card, version


class RateCardVersionDetailView(V2View):
    @extend_schema(operation_id="RetrieveV2RateCardVersion", responses=ANY)
    def get(self, request, rate_card_id: str, version_id: str):
        _, version = _version(rate_card_id, version_id)
        return Response(shapes.rate_card_version(version))


class RateCardVersionPublishView(V2View):
    @extend_schema(operation_id="PublishV2RateCardVersion", request=None, responses=ANY)
    def post(self, request, rate_card_id: str, version_id: str):
        card, version = _version(rate_card_id, version_id)
        version = rate_cards.rate_card_version_publish(
            card=card, version=version, now=clock.now()
        )
        return Response(shapes.rate_card_version(version))


class RateListView(V2View):
    @extend_schema(operation_id="ListV2RateCardRates", responses=ANY)
    def get(self, request, rate_card_id: str):
        rates = selectors.rate_card_rates(
            _card(rate_card_id), request.query_params.get("rate_card_version")
        )
        return Response(v2_list(request, rates, shapes.rate))

    @extend_schema(
        operation_id="CreateV2RateCardRate",
        request=shapes.RateCreateParams,
        responses=ANY,
    )
    def post(self, request, rate_card_id: str):
        card = _card(rate_card_id)
        params = self.parse_body(request, shapes.RateCreateParams)
        rate = rate_cards.rate_set(card=card, params=params, now=clock.now())
        return Response(shapes.rate(selectors.rates_with_prices().get(pk=rate.pk)))


class RateDetailView(V2View):
    def _rate(self, rate_card_id: str, rate_id: str):
        card = _card(rate_card_id)
        rates = selectors.rates_with_prices().filter(rate_card=card)
        return card, get_or_404(rates, rate_id, "rate_card_rate")

    @extend_schema(operation_id="RetrieveV2RateCardRate", responses=ANY)
    def get(self, request, rate_card_id: str, rate_id: str):
        return Response(shapes.rate(self._rate(rate_card_id, rate_id)[1]))

    @extend_schema(operation_id="DeleteV2RateCardRate", responses=ANY)
    def delete(self, request, rate_card_id: str, rate_id: str):
        card, rate = self._rate(rate_card_id, rate_id)
        rate_cards.rate_delete(card=card, rate=rate)
        return Response(shapes.rate(rate))
