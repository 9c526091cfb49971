"""Discounts on customers, subscriptions, one-off invoices and invoice items.

``discounts`` entries are Stripe's: ``{coupon}`` and ``{promotion_code}`` redeem
a new discount (``billing.services.redemption``); ``{discount}`` keeps one the
object already has. Setting a list replaces the object's discounts: those not
kept are removed (the rows stay, invoices name them). A customer has at most
one discount of its own, used by subscriptions without discounts and by
invoices without their own. Customer and subscription discounts emit
``customer.discount.created|updated|deleted``. Callers hold the object's lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from billing import amounts
from billing.compose.rows import items_with_prices, spec_of
from billing.models import Discount, Invoice, InvoiceItem, Subscription
from billing.services.redemption import Target, discount_redeem
from core import clock
from core.errors import InvalidRequest, InvalidState, ResourceMissing
from core.models import Customer
from core.services.events import event_emit, event_record
from core.services.events import snapshot as api_view

_EMITTING = ("customer", "subscription")


def live(rows: QuerySet[Discount]) -> QuerySet[Discount]:
    return rows.filter(removed_at__isnull=True).select_related("coupon")


def customer_discount(customer: Customer) -> Discount | None:
    """The customer's own live discount (``customer.discount``)."""
    return (
        live(Discount.objects.filter(customer=customer))
        .filter(
            subscription__isnull=True, invoice__isnull=True, invoice_item__isnull=True
        )
        .first()
    )


def _remove(rows: Sequence[Discount], now: datetime) -> None:
    for row in rows:
        data = api_view(row)
        row.removed_at = now
        row.save(update_fields=["removed_at"])
        if row.level in _EMITTING:
            event_record(type="customer.discount.deleted", data_object=data)


def _check_unique(entries: Sequence[dict[str, str]], param: str) -> None:
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(entries):
        key = next(iter(entry.items()))
        if key in seen:
            raise InvalidRequest(
                "The same discount can only be applied once.",
                param=f"{param}[{index}]",
            )
        seen.add(key)


def discounts_replace(
    *,
    current: Sequence[Discount],
    entries: Sequence[dict[str, str]] | None,
    target: Target,
    now: datetime,
    param: str = "discounts",
) -> list[Discount]:
    """Make the object's discounts ``entries``, in order; return them."""
    entries = list(entries or [])
    _check_unique(entries, param)
    by_id = {row.pk: row for row in current}
    chosen: list[Discount] = []
    for position, entry in enumerate(entries):
        if "discount" in entry:
            row = by_id.get(entry["discount"])
            if row is None:
                raise ResourceMissing(
                    f"No such discount on this object: '{entry['discount']}'",
                    param=f"{param}[{position}][discount]",
                    http_status=400,
                )
            if row.position != position:
                row.position = position
                row.save(update_fields=["position"])
        else:
            row = discount_redeem(
                entry=entry,
                target=target,
                now=now,
                param=f"{param}[{position}]",
                position=position,
            )
            if row.level in _EMITTING:
                event_emit(type="customer.discount.created", instance=row)
        chosen.append(row)
    kept = {row.pk for row in chosen}
    _remove([row for row in current if row.pk not in kept], now)
    return chosen


# ---- customers ----------------------------------------------------------------


def customer_discount_params(
    customer: Customer, params: dict[str, Any], *, created: bool
) -> None:
    """``coupon`` / ``promotion_code`` on customer create or update (a hook)."""
    given = [key for key in ("coupon", "promotion_code") if key in params]
    if not given:
        return
    if len(given) > 1 and all(params[key] for key in given):
        raise InvalidRequest(
            "You may only specify one of coupon and promotion_code.",
            param="promotion_code",
        )
    entry = {key: params[key] for key in given if params[key]}
    customer_discount_set(
        customer=customer,
        entry=entry or None,
        now=clock.now_for_customer(customer),
        param=given[0],
    )


def customer_discount_set(
    *,
    customer: Customer,
    entry: dict[str, str] | None,
    now: datetime,
    param: str = "coupon",
) -> Discount | None:
    """Give the customer ``entry`` as its discount (None: remove it)."""
    current = customer_discount(customer)
    if entry is None:
        if current is not None:
            _remove([current], now)
        return None
    was = None
    if current is not None:  # one live discount per customer: free the place first
        was = api_view(current)
        current.removed_at = now
        current.save(update_fields=["removed_at"])
    row = discount_redeem(
        entry=entry, target=Target(customer=customer), now=now, param=param
    )
    if was is None:
        event_emit(type="customer.discount.created", instance=row)
    else:
        shown = api_view(row)
        event_emit(
            type="customer.discount.updated",
            instance=row,
            previous_attributes={
                key: value for key, value in was.items() if shown.get(key) != value
            },
        )
    return row


@transaction.atomic
def customer_discount_remove(*, customer: Customer, now: datetime) -> Discount:
    """Remove the customer's discount (``DELETE /v1/customers/{id}/discount``)."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    current = customer_discount(customer)
    if current is None:
        raise ResourceMissing(
            f"No active discount for customer: '{customer.pk}'", param=None
        )
    _remove([current], now)
    return current


# ---- subscriptions ------------------------------------------------------------


def licensed_amount(subscription: Subscription) -> int:
    """Minor units the licensed items cost a full period (minimum amounts)."""
    items = getattr(subscription, "_loaded_items", None) or items_with_prices(
        subscription
    )
    return sum(
        amounts.licensed_amount(
            spec_of(item.price), item.quantity or 0, amounts.ONE
        ).amount
        for item in items
        if not item.price.is_metered
    )


def subscription_discounts(subscription: Subscription) -> list[Discount]:
    return list(
        live(Discount.objects.filter(subscription=subscription)).order_by(
            "position", "created", "id"
        )
    )


def subscription_discounts_set(
    *,
    subscription: Subscription,
    entries: Sequence[dict[str, str]] | None,
    now: datetime,
) -> None:
    """Replace the (locked) subscription's discounts with ``entries``."""
    rows = discounts_replace(
        current=subscription_discounts(subscription),
        entries=entries,
        target=Target(
            customer=subscription.customer,
            subscription=subscription,
            currency=subscription.currency,
            amount=licensed_amount(subscription),
        ),
        now=now,
    )
    subscription.discounts = [row.pk for row in rows]
    Subscription.objects.filter(pk=subscription.pk).update(
        discounts=subscription.discounts
    )


@transaction.atomic
def subscription_discount_remove(
    *, subscription: Subscription, now: datetime
) -> Discount:
    """Remove the subscription's discounts (``DELETE .../discount``); the first."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    current = subscription_discounts(subscription)
    if not current:
        raise ResourceMissing(
            f"No active discount for subscription: '{subscription.pk}'", param=None
        )
    _remove(current, now)
    subscription.discounts = []
    Subscription.objects.filter(pk=subscription.pk).update(discounts=[])
    return current[0]


# ---- one-off invoices and invoice items ----------------------------------------


def invoice_discounts_set(
    *, invoice: Invoice, entries: Sequence[dict[str, str]] | None, now: datetime
) -> None:
    """Replace a draft invoice's own discounts with ``entries``."""
    if not invoice.is_draft:
        raise InvalidState(
            f"The invoice {invoice.pk} is finalized; its discounts cannot change.",
            code="invoice_not_editable",
        )
    subtotal = sum(invoice.lines.values_list("amount", flat=True))
    rows = discounts_replace(
        current=list(live(Discount.objects.filter(invoice=invoice))),
        entries=entries,
        target=Target(
            customer=invoice.customer,
            invoice=invoice,
            currency=invoice.currency,
            amount=subtotal,
        ),
        now=now,
    )
    invoice.discounts = [row.pk for row in rows]
    Invoice.objects.filter(pk=invoice.pk).update(discounts=invoice.discounts)


def invoice_item_discounts_set(
    *, item: InvoiceItem, entries: Sequence[dict[str, str]] | None, now: datetime
) -> None:
    """Replace an invoice item's own discounts (pending, or on a draft)."""
    rows = discounts_replace(
        current=list(live(Discount.objects.filter(invoice_item=item))),
        entries=entries,
        target=Target(
            customer=item.customer,
            invoice_item=item,
            currency=item.currency,
            amount=item.amount,
        ),
        now=now,
    )
    item.discounts = [row.pk for row in rows]
    InvoiceItem.objects.filter(pk=item.pk).update(discounts=item.discounts)
