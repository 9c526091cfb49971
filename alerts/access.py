"""Reads behind usage limits and the check endpoint (selectors).

- Which subscriptions entitle: ``trialing``, ``active`` and ``past_due`` ones
  (Stripe keeps entitlements while payment is retried and removes them when the
  subscription ends; incomplete, unpaid, paused and canceled ones entitle to
  nothing).
- A limit's period (``limit_period``) is the current period of the customer's
  subscription item it watches, read from billing: the item of the limit's
  price; else the first (oldest) item whose price is metered on the limit's
  meter; for a customer's monetary limit, the first subscription in the limit's
  currency. Without such an item the limit has no period: it is not evaluated
  and cuts nothing (the customer is not billed for that usage either).
- Usage counts the meter over ``[period start, min(now, period end))`` from the
  rollups (exact at commit), as the customer's usage page does.
- Spend is what the upcoming invoice (``billing.services.invoice_preview``,
  the one rating path) bills for the period's metered lines (of the limit's
  price, if any) minus the credits that invoice would apply to them, in minor
  units. With several subscriptions in one currency, each preview applies the
  customer's credits on its own; the credits subtracted are capped at the
  available balance so they count once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Q

from alerts.models import ActiveEntitlement, UsageLimit, UsageLimitCrossing
from billing.models import Subscription, SubscriptionItem
from billing.services import invoice_preview
from catalog.models import Price
from core.errors import ResourceMissing
from credits.selectors import credit_balance_summary
from metering.selectors import meter_usage_for_period

ENTITLING_STATUSES = ("trialing", "active", "past_due")
ZERO = Decimal(0)


@dataclass(frozen=True)
class LimitPeriod:
    """A limit applied to one customer over one period ``[start, end)``."""

    limit: UsageLimit
    customer_id: str
    subscription: Subscription
    start: datetime
    end: datetime


def entitling_items(customer_ids: Collection[str]) -> dict[str, list[SubscriptionItem]]:
    """The items of each customer's entitling subscriptions, oldest first."""
    rows = (
        SubscriptionItem.objects.filter(
            subscription__customer_id__in=list(customer_ids),
            subscription__status__in=ENTITLING_STATUSES,
        )
        .select_related("subscription", "price__recurring_meter")
        .order_by("created", "id")
    )
    found: dict[str, list[SubscriptionItem]] = {}
    for item in rows:
        found.setdefault(item.subscription.customer_id, []).append(item)
    return found


def _watched_item(
    limit: UsageLimit, items: Iterable[SubscriptionItem]
) -> SubscriptionItem | None:
    for item in items:
        if limit.price_id is not None:
            if item.price_id == limit.price_id:
                return item
        elif limit.limit_type == UsageLimit.LimitType.USAGE:
            if (
                item.price.is_metered
                and item.price.recurring_meter_id == limit.meter_id
            ):
                return item
        elif item.subscription.currency == limit.currency:
            return item
    return None


def limit_period(
    limit: UsageLimit, customer_id: str, items: Iterable[SubscriptionItem]
) -> LimitPeriod | None:
    """The period the limit counts in for the customer; None without one."""
    item = _watched_item(limit, items)
    if item is None:
        return None
    return LimitPeriod(
        limit=limit,
        customer_id=customer_id,
        subscription=item.subscription,
        start=item.current_period_start,
        end=item.current_period_end,
    )


def limits_of(
    customer_ids: Collection[str], items: dict[str, list[SubscriptionItem]]
) -> list[tuple[UsageLimit, str]]:
    """Active (limit, customer id) pairs: the customers' own and their prices'."""
    price_ids = {item.price_id for rows in items.values() for item in rows}
    limits = UsageLimit.objects.filter(status=UsageLimit.Status.ACTIVE).filter(
        Q(customer_id__in=list(customer_ids)) | Q(price_id__in=price_ids)
    )
    pairs = []
    for limit in limits.select_related("meter", "feature").order_by("pk"):
        if limit.customer_id is not None:
            pairs.append((limit, limit.customer_id))
            continue
        for customer_id in sorted(customer_ids):
            if any(
                item.price_id == limit.price_id for item in items.get(customer_id, ())
            ):
                pairs.append((limit, customer_id))
    return pairs


def usage_until(now: datetime, end: datetime) -> datetime:
    """The end of a "usage so far" read: ``now`` included, not past ``end``.

    An event stamped at ``now`` itself has happened: a test clock's customer
    sends usage "now" at the clock's very moment, and the invoice, the staff
    pages and the limits must all count it at once.
    """
    return min(now + timedelta(microseconds=1), end)


def _usage(meter, period: LimitPeriod, now: datetime) -> Decimal:
    end = usage_until(now, period.end)
    if end <= period.start:
        return ZERO
    return meter_usage_for_period(
        meter=meter, customer_id=period.customer_id, start=period.start, end=end
    )


def _preview_lines(subscription: Subscription, now: datetime) -> list[dict]:
    try:
        preview = invoice_preview(customer=None, subscription=subscription, now=now)
    except ResourceMissing:
        return []  # nothing would be billed
    return preview["lines"]["data"]


def spend(
    *,
    customer_id: str,
    subscriptions: Iterable[Subscription],
    currency: str,
    price_id: str | None,
    now: datetime,
) -> int:
    """Metered spend of the period after credits, in minor units (see above)."""
    gross = credited = 0
    for subscription in subscriptions:
        if subscription.currency != currency:
            continue
        lines = _preview_lines(subscription, now)
        priced = {
            line["pricing"]["price_details"]["price"]: line
            for line in lines
            if (line.get("pricing") or {}).get("price_details")
        }
        metered = set(
            Price.objects.filter(
                pk__in=list(priced), recurring_usage_type=Price.UsageType.METERED
            ).values_list("pk", flat=True)
        )
        for line in lines:
            details = (line.get("pricing") or {}).get("price_details") or {}
            price = details.get("price")
            if price not in metered or (price_id and price != price_id):
                continue
            gross += line["amount"]
            credited += sum(
                entry["amount"] for entry in line.get("pretax_credit_amounts") or ()
            )
    available = sum(
        balance.available
        for balance in credit_balance_summary(customer_id=customer_id, now=now)
        if balance.currency == currency
    )
    return gross - min(credited, max(available, 0))


def limit_value(period: LimitPeriod, now: datetime) -> Decimal:
    """The figure compared with the limit's level: units, or minor units."""
    limit = period.limit
    if limit.limit_type == UsageLimit.LimitType.USAGE:
        return _usage(limit.meter, period, now)
    subscriptions = Subscription.objects.filter(
        customer_id=period.customer_id, status__in=ENTITLING_STATUSES
    ).order_by("created", "pk")
    if limit.price_id is not None:
        subscriptions = subscriptions.filter(pk=period.subscription.pk)
    return Decimal(
        spend(
            customer_id=period.customer_id,
            subscriptions=subscriptions,
            currency=limit.currency,
            price_id=limit.price_id,
            now=now,
        )
    )


def crossings_in_force(customer_ids: Collection[str]) -> list[UsageLimitCrossing]:
    """Crossings that cut a feature now, with their limits."""
    return list(
        UsageLimitCrossing.objects.filter(
            customer_id__in=list(customer_ids), lifted_at__isnull=True
        )
        .select_related("limit__feature", "limit__meter")
        .order_by("pk")
    )


def active_entitlements(*, customer_id: str) -> list[ActiveEntitlement]:
    """The customer's active entitlements, by lookup key."""
    return list(
        ActiveEntitlement.objects.filter(customer_id=customer_id).order_by(
            "lookup_key", "pk"
        )
    )
