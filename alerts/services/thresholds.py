"""Evaluating billing thresholds: when to call billing's threshold invoice.

A subscription's ``billing_thresholds.amount_gte`` compares the amount the period's
un-invoiced usage comes to: the metered lines a threshold invoice would bill now
(usage since the item's period start less what earlier threshold invoices of the
period billed, priced by billing so tiers continue), less the discounts and the
billing credits that would apply; no tax, and licensed prices are not in it (they
were billed in advance). An item's ``usage_gte`` compares that item's un-invoiced
usage since its period start. Not evaluated for trialing subscriptions, nor in the
24 hours before the period renews. Invoices may overshoot: the job runs every minute.

Exactly once per crossing: a subscription found over a threshold is locked, checked
again with fresh reads (a worker that waited for the lock finds the usage already
invoiced), and the ``ThresholdInvoice`` row, unique per (subscription, period
start, sequence), is written with the invoice in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from alerts.models import ThresholdInvoice
from billing.compose.collect import UsageReader, billed_usage
from billing.compose.draft import DraftLine
from billing.compose.rate import item_usage_draft
from billing.compose.rows import items_with_prices
from billing.models import Invoice, Subscription, SubscriptionItem
from billing.services import subscription_invoice_threshold
from billing.services.credits import invoice_pretax_amount
from billing.services.persist import line_from_draft
from core.errors import TallyError
from core.ids import new_id
from core.models import TestClock

logger = logging.getLogger(__name__)

# Thresholds rest in the last 24 hours of a period (no two invoices the same day).
RENEWAL_QUIET = timedelta(hours=24)
EVALUATED_STATUSES = ("active", "past_due", "unpaid")


@dataclass(frozen=True)
class ThresholdCheck:
    """A reached threshold: Stripe's ``threshold_reason`` and the amount compared."""

    reason: dict[str, Any]
    amount: int | None  # minor units, after credits; None without amount_gte


def threshold_subscriptions(
    *,
    now: datetime,
    test_clock: TestClock | None,
    customer_ids: Collection[str] | None = None,
) -> QuerySet[Subscription]:
    """Subscriptions whose thresholds are evaluated at ``now``, clock ones apart;
    only these customers' with ``customer_ids``."""
    with_usage_gte = SubscriptionItem.objects.filter(
        subscription=OuterRef("pk"), usage_gte__isnull=False
    )
    subscriptions = Subscription.objects.filter(
        Q(threshold_amount_gte__isnull=False) | Exists(with_usage_gte),
        status__in=EVALUATED_STATUSES,
        test_clock=test_clock,
        current_period_start__lt=now,
        current_period_end__gt=now + RENEWAL_QUIET,
    )
    if customer_ids is not None:
        subscriptions = subscriptions.filter(customer_id__in=list(customer_ids))
    return subscriptions


def _evaluated(sub: Subscription, now: datetime) -> bool:
    return (
        sub.status in EVALUATED_STATUSES
        and sub.current_period_start < now
        and sub.current_period_end > now + RENEWAL_QUIET
    )


def _drafts(sub, items, now, usage, billed) -> list[tuple[SubscriptionItem, DraftLine]]:
    """Each metered item and the usage line a threshold invoice would bill now."""
    return [
        (
            item,
            item_usage_draft(
                item=item,
                start=item.current_period_start,
                end=now,
                total=usage.price_usage(
                    item.price, sub.customer_id, item.current_period_start, now
                ),
                already=billed.get((item.pk, item.current_period_start)),
            ),
        )
        for item in items
        if item.price.is_metered and item.current_period_start < now
    ]


def _amount_after_credits(sub: Subscription, drafts: list[DraftLine], now) -> int:
    """Subtotal of ``drafts`` less the discounts and credits finalization would
    apply to them (no tax: seed 002)."""
    invoice = Invoice(
        id=new_id("upcoming_in"),
        customer=sub.customer,
        subscription=sub,
        currency=sub.currency,
        billing_reason=Invoice.BillingReason.SUBSCRIPTION_THRESHOLD,
        period_start=sub.current_period_start,
        period_end=now,
        created=now,
        livemode=sub.livemode,
    )
    lines = [
        line_from_draft(invoice=invoice, position=position, draft=draft, now=now)
        for position, draft in enumerate(drafts)
    ]
    return invoice_pretax_amount(invoice=invoice, lines=lines, now=now)


def threshold_check(
    *,
    subscription: Subscription,
    items: list[SubscriptionItem],
    now: datetime,
    usage: UsageReader,
    billed: dict | None = None,
) -> ThresholdCheck | None:
    """What threshold the subscription reached at ``now``, or None."""
    if billed is None:
        billed = billed_usage(
            keys={(item.pk, item.current_period_start) for item in items}
        )
    drafts = _drafts(subscription, items, now, usage, billed)
    item_reasons = [
        {"subscription_item": item.pk, "line_item_ids": [], "usage_gte": item.usage_gte}
        for item, draft in drafts
        if item.usage_gte is not None and draft.quantity >= item.usage_gte
    ]
    amount_gte, amount = subscription.threshold_amount_gte, None
    if amount_gte is not None:
        lines = [draft for _, draft in drafts]
        amount = sum(draft.amount for draft in lines)
        # Discounts and credits only lower the amount: below it already, no need.
        if amount >= amount_gte:
            amount = _amount_after_credits(subscription, lines, now)
    if not item_reasons and (amount is None or amount < amount_gte):
        return None
    reached = amount is not None and amount >= amount_gte
    return ThresholdCheck(
        reason={
            "amount_gte": amount_gte if reached else None,
            "item_reasons": item_reasons,
        },
        amount=amount,
    )


def subscription_threshold_invoice(
    *, subscription_id: str, now: datetime
) -> Invoice | None:
    """Issue the threshold invoice if a threshold is still reached; once per crossing.

    The subscription is locked and everything read again, so a second worker (or
    a rerun) finds the usage invoiced already and issues nothing.
    """
    try:
        with transaction.atomic():
            sub = (
                Subscription.objects.select_for_update(of=("self",))
                .select_related("customer")
                .filter(pk=subscription_id)
                .first()
            )
            if sub is None or not _evaluated(sub, now):
                return None
            usage = UsageReader()
            check = threshold_check(
                subscription=sub,
                items=list(items_with_prices(sub)),
                now=now,
                usage=usage,
            )
            if check is None:
                return None
            period_start = sub.current_period_start
            sequence = (
                ThresholdInvoice.objects.filter(
                    subscription=sub, period_start=period_start
                ).count()
                + 1
            )
            invoice = subscription_invoice_threshold(
                subscription=sub, now=now, reason=check.reason, usage=usage
            )
            if invoice is None:
                return None
            ThresholdInvoice.objects.create(
                subscription=sub,
                customer_id=sub.customer_id,
                period_start=period_start,
                sequence=sequence,
                invoice=invoice,
                reason=invoice.threshold_reason,
                amount=check.amount,
                created=now,
            )
    except IntegrityError:
        logger.info("Threshold of %s already invoiced elsewhere", subscription_id)
        return None
    except TallyError as error:
        logger.warning("No threshold invoice for %s: %s", subscription_id, error)
        return None
    return invoice


def billing_thresholds_evaluate(
    *,
    now: datetime,
    test_clock: TestClock | None = None,
    customer_ids: Collection[str] | None = None,
) -> int:
    """Invoice every subscription that reached a billing threshold; returns invoices.

    Without ``test_clock``: real-time subscriptions; ``customer_ids`` narrows them
    to these customers' (whose usage just changed). Reads are shared (usage per
    meter and period in one query when many subscriptions have it, billed usage in
    one query); only a subscription over a threshold is locked and invoiced.
    """
    subs = list(
        threshold_subscriptions(
            now=now, test_clock=test_clock, customer_ids=customer_ids
        )
        .select_related("customer")
        .order_by("pk")
    )
    if not subs:
        return 0
    items: dict[str, list[SubscriptionItem]] = {sub.pk: [] for sub in subs}
    usage = UsageReader()
    for item in (
        SubscriptionItem.objects.filter(subscription__in=subs)
        .select_related("price__product", "price__recurring_meter", "subscription")
        .order_by("position", "created", "id")
    ):
        items[item.subscription_id].append(item)
        if item.price.is_metered:
            usage.expect_price(
                item.price,
                item.subscription.customer_id,
                item.current_period_start,
                now,
            )
    billed = billed_usage(
        keys={
            (item.pk, item.current_period_start)
            for group in items.values()
            for item in group
        }
    )
    issued = 0
    for sub in subs:
        check = threshold_check(
            subscription=sub, items=items[sub.pk], now=now, usage=usage, billed=billed
        )
        if check is not None:
            invoice = subscription_threshold_invoice(subscription_id=sub.pk, now=now)
            issued += invoice is not None
    return issued


def threshold_amount_so_far(*, subscription: Subscription, now: datetime) -> int:
    """What ``billing_thresholds.amount_gte`` is compared with at ``now``: the
    period's un-invoiced usage less the credits that would apply (minor units)."""
    items = list(items_with_prices(subscription))
    billed = billed_usage(keys={(item.pk, item.current_period_start) for item in items})
    drafts = _drafts(subscription, items, now, UsageReader(), billed)
    return _amount_after_credits(subscription, [draft for _, draft in drafts], now)
