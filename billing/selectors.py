"""Reads of the billing app: filtered lists, usage so far, customer summaries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet, Sum

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
from catalog.pricing import describe_line, price_amount
from core.api.pagination import filter_range
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
    end: datetime
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
                usage=total,
                billed=billed.get((item.pk, item.current_period_start)),
                amount=line.amount,
                breakdown=describe_line(
                    price_amount(spec, billable_quantity(total)), spec
                ),
            )
        )
    return rows


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
