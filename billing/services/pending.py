"""Pending invoice items a subscription change leaves for its next invoice.

Prorations (unused time credited, remaining time charged) and the usage of a
metered item removed or replaced mid-period become pending items, which the
next invoice's ``collect`` step takes like any other. Used inside the change's
transaction (the subscription row already locked).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from billing import amounts, descriptions
from billing.compose.collect import pending_items_of
from billing.compose.draft import DraftLine
from billing.compose.rate import period_share
from billing.compose.rows import spec_of
from billing.models import InvoiceItem, Subscription, SubscriptionItem
from billing.services.events import emit


def pending_items(
    *, subscription: Subscription, lock: bool = True
) -> list[InvoiceItem]:
    """Pending items the subscription's next invoice takes, newest first."""
    return list(pending_items_of([subscription], lock=lock)[subscription.pk])


def proration_item_create(
    *,
    subscription: Subscription,
    item: SubscriptionItem,
    quantity: int,
    start: datetime,
    end: datetime,
    credit: bool,
    now: datetime,
) -> InvoiceItem | None:
    """A pending proration: unused time (credit) or remaining time (charge).

    The amount is the price of ``quantity`` seats for a full period times the share
    of that period ``[start, end)`` covers, exact, rounded once.
    """
    if start >= end or quantity == 0:
        return None
    price = item.price
    share = period_share(subscription, start, end)
    priced = amounts.licensed_amount(spec_of(price), quantity, share)
    if priced.amount == 0:
        return None
    product = price.product.name
    if credit:
        text = descriptions.unused_time_line(product, quantity, start)
    else:
        text = descriptions.remaining_time_line(product, quantity, start)
    sign = -1 if credit else 1
    unit = priced.unit_amount_decimal
    item_row = InvoiceItem.objects.create(
        customer_id=subscription.customer_id,
        subscription=subscription,
        subscription_item_id=item.pk,
        test_clock_id=subscription.test_clock_id,
        amount=sign * priced.amount,
        currency=price.currency,
        description=text,
        date=now,
        period_start=start,
        period_end=end,
        price=price,
        quantity=Decimal(quantity),
        unit_amount_decimal=-unit if credit and unit else unit,
        proration=True,
        discountable=False,
        tax_rates=list(item.tax_rates),
        created=now,
        livemode=subscription.livemode,
    )
    emit("invoiceitem.created", item_row)
    return item_row


def usage_item_create(
    *,
    subscription: Subscription,
    draft: DraftLine,
    now: datetime,
) -> InvoiceItem | None:
    """A pending item billing usage of a metered item that is removed or replaced."""
    if draft.quantity == 0 and draft.amount == 0:
        return None
    item_row = InvoiceItem.objects.create(
        customer_id=subscription.customer_id,
        subscription=subscription,
        subscription_item_id=draft.subscription_item_id,
        test_clock_id=subscription.test_clock_id,
        amount=draft.amount,
        currency=draft.currency,
        description=draft.description,
        date=now,
        period_start=draft.period_start,
        period_end=draft.period_end,
        price=draft.price,
        quantity=draft.quantity,
        unit_amount_decimal=draft.unit_amount_decimal,
        tax_rates=list(draft.tax_rates),
        created=now,
        livemode=subscription.livemode,
    )
    emit("invoiceitem.created", item_row)
    return item_row
