"""Reads of the billing app: filtered lists, usage so far, customer summaries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet, Sum

from billing import amounts
from billing.models import Invoice, InvoiceItem, Subscription, SubscriptionItem
from billing.services.lines import billed_usage, items_with_prices, spec_of
from catalog.pricing import describe_line, price_amount
from core.api.pagination import filter_range
from metering.selectors import meter_usage_for_period
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
    """Per metered item: usage from its period start to now, priced by the engine."""
    items = [item for item in items_with_prices(subscription) if item.price.is_metered]
    billed = billed_usage(keys={(item.pk, item.current_period_start) for item in items})
    rows = []
    for item in items:
        end = min(now, item.current_period_end)
        total = meter_usage_for_period(
            meter=item.price.recurring_meter,
            customer_id=subscription.customer_id,
            start=item.current_period_start,
            end=end,
        )
        already = billed.get((item.pk, item.current_period_start))
        spec = spec_of(item.price)
        priced = amounts.usage_amount(spec, total, already)
        line = price_amount(spec, billable_quantity(total))
        rows.append(
            ItemUsage(
                item=item,
                start=item.current_period_start,
                end=end,
                usage=total,
                billed=already,
                amount=priced.amount,
                breakdown=describe_line(line, spec),
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
