"""Reads of the billing app: filtered lists, usage so far, customer summaries."""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum

from billing.amounts import licensed_amount
from billing.compose.collect import UsageReader, usage_so_far_collect
from billing.compose.rate import usage_so_far_lines
from billing.compose.rows import items_with_prices, spec_of
from billing.models import (
    Coupon,
    Invoice,
    InvoiceItem,
    PromotionCode,
    Subscription,
    SubscriptionItem,
)
from catalog.models import Price
from catalog.pricing import describe_line, price_amount
from core.api.pagination import filter_range
from core.models import Customer
from core.money import Money
from metering.models import Meter
from metering.selectors import meter_usage_for_periods
from metering.usage import billable_quantity

_ENDED = ("canceled", "incomplete_expired")


def subscription_list(*, filters: dict[str, Any]) -> QuerySet[Subscription]:
    """Subscriptions for the API list; canceled ones only when asked for."""
    rows = Subscription.objects.select_related("customer")
    status = filters.get("status")
    if status == "ended":
        rows = rows.filter(status__in=_ENDED)
    elif status and status != "all":
        rows = rows.filter(status=status)
    elif not status:
        rows = rows.exclude(status__in=_ENDED)
    for field in ("customer", "collection_method"):
        if filters.get(field):
            rows = rows.filter(
                **{f"{field}_id" if field == "customer" else field: filters[field]}
            )
    if filters.get("test_clock"):
        rows = rows.filter(test_clock_id=filters["test_clock"])
    if filters.get("price"):
        rows = rows.filter(
            Exists(
                SubscriptionItem.objects.filter(
                    subscription=OuterRef("pk"), price_id=filters["price"]
                )
            )
        )
    rows = filter_range(rows, "created", filters.get("created"))
    rows = filter_range(
        rows, "current_period_start", filters.get("current_period_start")
    )
    return filter_range(rows, "current_period_end", filters.get("current_period_end"))


def invoice_list(*, filters: dict[str, Any]) -> QuerySet[Invoice]:
    rows = Invoice.objects.select_related("subscription")
    for field in ("customer", "subscription", "test_clock"):
        if filters.get(field):
            rows = rows.filter(**{f"{field}_id": filters[field]})
    for field in ("status", "collection_method"):
        if filters.get(field):
            rows = rows.filter(**{field: filters[field]})
    rows = filter_range(rows, "created", filters.get("created"))
    return filter_range(rows, "due_date", filters.get("due_date"))


def coupon_list(*, filters: dict[str, Any]) -> QuerySet[Coupon]:
    rows = Coupon.objects.filter(deleted=False)
    return filter_range(rows, "created", filters.get("created"))


def promotion_code_list(*, filters: dict[str, Any]) -> QuerySet[PromotionCode]:
    rows = PromotionCode.objects.select_related("coupon")
    if filters.get("active") is not None:
        rows = rows.filter(active=filters["active"])
    if filters.get("code"):
        rows = rows.filter(code__iexact=filters["code"])
    for field in ("coupon", "customer"):
        if filters.get(field):
            rows = rows.filter(**{f"{field}_id": filters[field]})
    return filter_range(rows, "created", filters.get("created"))


def invoice_item_list(*, filters: dict[str, Any]) -> QuerySet[InvoiceItem]:
    rows = InvoiceItem.objects.select_related("price")
    for field in ("customer", "invoice"):
        if filters.get(field):
            rows = rows.filter(**{f"{field}_id": filters[field]})
    if filters.get("pending") is not None:
        rows = rows.filter(invoice__isnull=filters["pending"])
    return filter_range(rows, "created", filters.get("created"))


@dataclass(frozen=True)
class ItemUsage:
    """A metered item's usage so far this period and what it would bill."""

    item: SubscriptionItem
    start: datetime
    end: datetime  # the moment shown: the customer's now, or the period end
    period_end: datetime  # exclusive; every event before it counts
    usage: Decimal
    billed: Decimal | None  # already on threshold invoices of the period
    amount: int  # minor units the period's invoice would add
    breakdown: list[str]


def subscription_usage_so_far(
    *, subscription: Subscription, now: datetime
) -> list[ItemUsage]:
    """Per metered item: the period's usage recorded so far, as the invoice bills it.

    The period is the item's whole current period, as the period close and the
    upcoming invoice read it: events are accepted up to a few minutes after the
    customer's now (its test clock's time), and the figure counts them as the
    invoice will. Collected and rated by the composition pipeline; ``now`` is
    the moment shown and picks nothing.
    """
    items = [item for item in items_with_prices(subscription) if item.price.is_metered]
    end = subscription.current_period_end
    values, billed = usage_so_far_collect(
        customer_id=subscription.customer_id,
        items=items,
        end=end,
        usage=UsageReader(),
    )
    lines = usage_so_far_lines(items=items, end=end, usage=values, billed=billed)
    rows = []
    for item, line in zip(
        [item for item in items if item.current_period_start < end], lines, strict=True
    ):
        total = values[(item.pk, item.current_period_start, end)]
        spec = spec_of(item.price)
        rows.append(
            ItemUsage(
                item=item,
                start=item.current_period_start,
                end=min(now, end),
                period_end=end,
                usage=total,
                billed=billed.get((item.pk, item.current_period_start)),
                amount=line.amount,
                breakdown=describe_line(
                    price_amount(spec, billable_quantity(total)), spec
                ),
            )
        )
    return rows


@dataclass(frozen=True)
class MeterUsage:
    """One usage figure of a customer: a metered item's period so far, or the
    calendar month of a meter that no subscription of the customer bills."""

    meter: Meter
    start: datetime
    end: datetime  # exclusive
    usage: Decimal
    item: ItemUsage | None  # None: not billed by a subscription


def customer_usage_so_far(*, customer: Customer, now: datetime) -> list[MeterUsage]:
    """The customer's usage so far, the figure of every page that shows one.

    Metered items of live subscriptions come from ``subscription_usage_so_far``
    (what the subscription page and the upcoming invoice show); the other active
    meters count the calendar month holding ``now`` (the customer's clock). Both
    count every event stored for the period, even one stamped at ``now`` itself.
    """
    subscriptions = (
        Subscription.objects.filter(customer_id=customer.pk)
        .exclude(status__in=_ENDED)
        .order_by("created", "pk")
    )
    rows = [
        MeterUsage(
            meter=usage.item.price.recurring_meter,
            start=usage.start,
            end=usage.period_end,
            usage=usage.usage,
            item=usage,
        )
        for subscription in subscriptions
        for usage in subscription_usage_so_far(subscription=subscription, now=now)
    ]
    start, end = month_of(now)
    billed = {row.meter.pk for row in rows}
    others = list(
        Meter.objects.filter(status=Meter.Status.ACTIVE)
        .exclude(pk__in=billed)
        .order_by("display_name", "pk")
    )
    values = meter_usage_for_periods(
        customer_id=customer.pk, reads=[(meter, start, end) for meter in others]
    )
    rows += [
        MeterUsage(meter=meter, start=start, end=end, usage=value, item=None)
        for meter, value in zip(others, values, strict=True)
    ]
    return rows


def month_of(moment: datetime) -> tuple[datetime, datetime]:
    """The UTC calendar month holding ``moment``, as ``[start, end)``."""
    start = moment.astimezone(UTC).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    end = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start, end


def customer_open_total(*, customer_id: str | None = None) -> dict[str, int]:
    """Amounts remaining on open invoices, per currency (minor units)."""
    rows = Invoice.objects.filter(status=Invoice.Status.OPEN)
    if customer_id:
        rows = rows.filter(customer_id=customer_id)
    return {
        row["currency"]: row["total"]
        for row in rows.values("currency").annotate(total=Sum("amount_remaining"))
    }


def rate_card_migration_rows(
    *, migration, offset: int = 0, limit: int | None = None
) -> list:
    """A migration's report rows (one per subscription), by customer."""
    rows = migration.subscriptions.order_by("customer_id", "subscription_id")
    if limit is None:
        return list(rows[offset:])
    return list(rows[offset : offset + limit])


def rate_card_migration_by_customer(*, migration) -> list[dict]:
    """The report per customer: subscriptions and both totals (minor units)."""
    return list(
        migration.subscriptions.values("customer_id")
        .annotate(
            subscriptions=Count("id"),
            amount_current=Sum("amount_current"),
            amount_proposed=Sum("amount_proposed"),
        )
        .order_by("customer_id")
    )


# The dashboard home: "how is the business doing", in a few aggregate queries.

# Subscriptions whose licensed items are recurring revenue (trials pay nothing yet).
_PAYING = ("active", "past_due")
# Periods per month, exactly: a year is 12 months, a week 52/12 of one, a day 365/12.
_PER_MONTH = {
    "month": Decimal(1),
    "year": Decimal(1) / 12,
    "week": Decimal(52) / 12,
    "day": Decimal(365) / 12,
}


def licensed_mrr() -> dict[str, int]:
    """Monthly recurring revenue of licensed items, per currency (minor units).

    Each (price, quantity) is priced once by the engine, as a full period's line
    (tiers included), then scaled to a month; before discounts and tax.
    """
    groups = (
        SubscriptionItem.objects.filter(
            subscription__status__in=_PAYING,
            price__recurring_usage_type="licensed",
        )
        .values("price_id", "quantity")
        .annotate(items=Count("id"))
    )
    counted = [(row["price_id"], row["quantity"] or 0, row["items"]) for row in groups]
    prices = Price.objects.in_bulk({price_id for price_id, _, _ in counted})
    exact: dict[str, Decimal] = {}
    with decimal.localcontext(prec=60):
        for price_id, quantity, items in counted:
            price = prices[price_id]
            per_month = _PER_MONTH[price.recurring_interval] / (
                price.recurring_interval_count or 1
            )
            line = licensed_amount(spec_of(price), quantity).amount
            exact[price.currency] = exact.get(price.currency, Decimal(0)) + (
                line * items * per_month
            )
    return {
        currency: Money(amount, currency).rounded().minor_units
        for currency, amount in sorted(exact.items())
    }


@dataclass(frozen=True)
class InvoicesWaiting:
    """Open invoices past their due date, and drafts not yet finalized."""

    past_due_count: int
    past_due_amounts: dict[str, int]  # amount remaining per currency
    draft_count: int


def invoices_waiting(*, now: datetime) -> InvoicesWaiting:
    """Past-due and draft invoices, in one query."""
    rows = (
        Invoice.objects.filter(
            Q(status="open", due_date__lt=now, amount_remaining__gt=0)
            | Q(status="draft")
        )
        .values("status", "currency")
        .annotate(count=Count("id"), amount=Sum("amount_remaining"))
    )
    past_due_count, amounts, drafts = 0, {}, 0
    for row in rows:
        if row["status"] == "draft":
            drafts += row["count"]
        else:
            past_due_count += row["count"]
            amounts[row["currency"]] = row["amount"] or 0
    return InvoicesWaiting(past_due_count, dict(sorted(amounts.items())), drafts)
