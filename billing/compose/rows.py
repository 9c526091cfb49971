"""Loaded rows the pipeline reads from: items with their prices, price specs, cycles.

``collect`` loads a chunk's items with one query and their prices with another
(``items_by_subscription``); ``spec_of`` gives the pricing engine's view of a
price, read once per price (amounts and tiers never change), so ``rate`` runs
without a query.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet

from billing.models import InvoiceLineItem, Subscription, SubscriptionItem
from billing.periods import Cycle
from catalog.models import Price
from catalog.pricing import PriceSpec
from catalog.selectors import price_spec

ZERO = Decimal(0)
USAGE_KINDS = (InvoiceLineItem.Kind.METERED, InvoiceLineItem.Kind.LATE_USAGE)


def grace_period():
    """How long a period's draft waits for late usage before it finalizes."""
    return settings.TALLY_INVOICE_GRACE_PERIOD


def cycle_of(subscription: Subscription) -> Cycle:
    return Cycle(
        interval=subscription.interval,
        count=subscription.interval_count,
        anchor=subscription.billing_cycle_anchor,
        anchor_day=subscription.anchor_day,
    )


def items_with_prices(subscription: Subscription) -> QuerySet[SubscriptionItem]:
    """The subscription's items with price, product and meter loaded.

    Tiers are read once per price by ``spec_of`` (they never change).
    """
    return (
        SubscriptionItem.objects.filter(subscription=subscription)
        .select_related("price__product", "price__recurring_meter")
        .order_by("position", "created", "id")
    )


def items_by_subscription(
    subscription_ids: Iterable[str],
) -> dict[str, list[SubscriptionItem]]:
    """The items of many subscriptions (as ``items_with_prices``), in two queries."""
    by_subscription: dict[str, list[SubscriptionItem]] = {
        subscription_id: [] for subscription_id in subscription_ids
    }
    rows = list(
        SubscriptionItem.objects.filter(
            subscription_id__in=list(by_subscription)
        ).order_by("subscription_id", "position", "created", "id")
    )
    attach_prices(rows)
    for item in rows:
        by_subscription[item.subscription_id].append(item)
    return by_subscription


def attach_prices(rows: Sequence[SubscriptionItem | InvoiceLineItem]) -> None:
    """Give rows their prices (with product and meter), one object per price.

    One query however many rows: a chunk's thousands of items or lines share a
    handful of prices, so building them once per row would cost more than the
    query.
    """
    ids = {row.price_id for row in rows if row.price_id}
    prices = Price.objects.select_related("product", "recurring_meter").in_bulk(ids)
    for row in rows:
        if row.price_id:
            row.price = prices[row.price_id]


_specs: dict[str, PriceSpec] = {}


def spec_of(price: Price) -> PriceSpec:
    """The engine's view of ``price``; cached, since amounts and tiers never change."""
    spec = _specs.get(price.pk)
    if spec is None:
        spec = _specs[price.pk] = price_spec(price)
    return spec


def former_prices(
    subscriptions: Sequence[Subscription], rows_of: Mapping[str, list[tuple]]
) -> dict[str, Price]:
    """Prices that earlier usage lines of a rate card subscription's items billed
    and the items no longer have (the version changed at a period start), loaded.

    ``rows_of`` maps a subscription to its usage line rows, (item, start, end,
    quantity, amount, status, price). Subscriptions without a card, and those
    whose version did not change, need no query.
    """
    current = {
        item.pk: item.price_id
        for sub in subscriptions
        if sub.rate_card_id
        for item in sub._loaded_items
    }
    wanted = {
        row[6]
        for sub in subscriptions
        if sub.rate_card_id
        for row in rows_of.get(sub.pk, ())
        if row[6] and current.get(row[0], row[6]) != row[6]
    }
    if not wanted:
        return {}
    found = Price.objects.select_related("product", "recurring_meter").in_bulk(wanted)
    for price in found.values():
        spec_of(price)
    return found
