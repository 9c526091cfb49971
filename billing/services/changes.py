"""Mid-period changes: items added, changed or removed; updates of a subscription.

Licensed changes prorate per ``proration_behavior`` (Stripe's):
``create_prorations`` (default) leaves pending items — a credit for the unused time
of the old seats and a charge for the remaining time of the new ones — for the
next invoice; ``always_invoice`` bills them on an invoice now; ``none`` does
neither. Shares of a period are exact ratios of seconds, each item rounded once.
A metered item removed or re-priced bills its usage so far (unless ``none``); a
metered item added starts counting usage from the change.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from billing.compose.collect import UsageReader
from billing.compose.pipeline import usage_so_far_drafts
from billing.compose.rate import pending_drafts
from billing.compose.rows import items_with_prices
from billing.models import Invoice, Subscription, SubscriptionItem
from billing.services import validation
from billing.services.discounts import subscription_discounts_set
from billing.services.events import before, emit_updated
from billing.services.finalize import invoice_finalize
from billing.services.pending import (
    pending_items,
    proration_item_create,
    usage_item_create,
)
from billing.services.period_close import subscription_period_restart
from billing.services.persist import subscription_invoice_create
from billing.services.subscriptions import (
    check_open,
    lock,
    subscription_settings_apply,
)
from billing.taxes.rates import tax_rates_resolve
from core.errors import InvalidRequest, ResourceMissing
from core.metadata import metadata_merge

NONE = "none"
ALWAYS = "always_invoice"
# What ``/v1/subscription_items`` passes on to the subscription's update.
_ITEM_KEYS = ("price", "quantity", "billing_thresholds", "metadata", "tax_rates")


class _Change:
    """One update's context: the locked subscription, when, and how to prorate."""

    def __init__(self, sub: Subscription, params: dict[str, Any], now: datetime):
        self.sub = sub
        self.now = now
        self.behavior = params.get("proration_behavior") or "create_prorations"
        self.usage = UsageReader()
        self.prorated = False
        self.added: list[SubscriptionItem] = []
        start, end = sub.current_period_start, sub.current_period_end
        if params.get("proration_date") is not None:
            self.at = params["proration_date"]
            if not start <= self.at < end:
                raise InvalidRequest(
                    "proration_date must lie within the current billing period.",
                    param="proration_date",
                )
        else:
            # A period the close job has not reached yet still takes the change.
            self.at = min(max(now, start), end - timedelta(seconds=1))

    @property
    def prorates(self) -> bool:
        return self.behavior != NONE and self.sub.status != Subscription.Status.TRIALING

    def seats(self, item: SubscriptionItem, quantity: int, *, credit: bool) -> None:
        if self.prorates and not item.price.is_metered:
            made = proration_item_create(
                subscription=self.sub,
                item=item,
                quantity=quantity,
                start=self.at,
                end=self.sub.current_period_end,
                credit=credit,
                now=self.now,
            )
            self.prorated = self.prorated or made is not None

    def usage_so_far(self, item: SubscriptionItem) -> None:
        if self.behavior == NONE or not item.price.is_metered:
            return
        for draft in usage_so_far_drafts(
            customer_id=self.sub.customer_id,
            items=[item],
            end=self.at,
            usage=self.usage,
        ):
            made = usage_item_create(subscription=self.sub, draft=draft, now=self.now)
            self.prorated = self.prorated or made is not None


def _add(change: _Change, entry: dict[str, Any], param: str) -> SubscriptionItem:
    sub = change.sub
    price = validation.load_price(entry["price"], param=f"{param}[price]")
    validation.check_price(price, param=f"{param}[price]")
    spec = validation.item_spec(entry, param=param, price=price)
    last = max((item.position for item in sub._loaded_items), default=-1)
    item = SubscriptionItem.objects.create(
        subscription=sub,
        position=last + 1 + len(change.added),
        price=price,
        quantity=None if price.is_metered else spec.quantity,
        usage_gte=spec.usage_gte,
        metadata=spec.metadata,
        tax_rates=spec.tax_rates,
        current_period_start=change.at
        if price.is_metered
        else sub.current_period_start,
        current_period_end=sub.current_period_end,
        created=change.now,
        livemode=sub.livemode,
    )
    change.seats(item, item.quantity or 0, credit=False)
    change.added.append(item)
    return item


def _change(change: _Change, item: SubscriptionItem, entry: dict, param: str) -> None:
    new_price = item.price
    if entry.get("price") and entry["price"] != item.price_id:
        new_price = validation.load_price(entry["price"], param=f"{param}[price]")
        validation.check_price(new_price, param=f"{param}[price]")
    repriced = new_price.pk != item.price_id
    spec_entry = {key: value for key, value in entry.items() if key != "tax_rates"}
    if not repriced and "quantity" not in entry and not new_price.is_metered:
        spec_entry["quantity"] = item.quantity
    spec = validation.item_spec(spec_entry, param=param, price=new_price)
    if repriced or spec.quantity != item.quantity:
        change.usage_so_far(item)
        change.seats(item, item.quantity or 0, credit=True)
        if item.price.is_metered or new_price.is_metered:
            item.current_period_start = change.at
        if not new_price.is_metered and item.price.is_metered:
            item.current_period_start = change.sub.current_period_start
        item.price = new_price
        item.quantity = None if new_price.is_metered else spec.quantity
        change.seats(item, item.quantity or 0, credit=False)
    if "billing_thresholds" in entry:
        item.usage_gte = spec.usage_gte
    if "metadata" in entry:
        item.metadata = metadata_merge(item.metadata, entry["metadata"])
    if "tax_rates" in entry:
        item.tax_rates = tax_rates_resolve(
            entry["tax_rates"], param=f"{param}[tax_rates]", keep=item.tax_rates
        )
    item.save()


def _remove(change: _Change, item: SubscriptionItem) -> None:
    change.usage_so_far(item)
    change.seats(item, item.quantity or 0, credit=True)
    item.delete()


def _apply_items(change: _Change, entries: list[dict[str, Any]]) -> list:
    """Apply item entries (add / change / ``deleted``); returns touched items."""
    current = {item.pk: item for item in change.sub._loaded_items}
    touched = []
    for index, entry in enumerate(entries):
        param = f"items[{index}]"
        item_id = entry.get("id")
        if item_id is None:
            if entry.get("deleted"):
                raise InvalidRequest(
                    "Pass the id of the item to delete.", param=f"{param}[id]"
                )
            if not entry.get("price"):
                raise InvalidRequest(
                    f"Missing required param: {param}[price].", param=f"{param}[price]"
                )
            touched.append(_add(change, entry, param))
            continue
        item = current.get(item_id)
        if item is None:
            raise ResourceMissing.for_id(
                "subscription_item", item_id, param=f"{param}[id]"
            )
        if entry.get("deleted"):
            _remove(change, item)
            continue
        _change(change, item, entry, param)
        touched.append(item)
    _check_items(change.sub)
    return touched


def _check_items(sub: Subscription) -> None:
    items = list(items_with_prices(sub))
    if not items:
        raise InvalidRequest(
            "A subscription must keep at least one item; cancel it instead.",
            param="items",
        )
    specs = [
        validation.ItemSpec(
            price=item.price,
            quantity=item.quantity,
            usage_gte=item.usage_gte,
            metadata={},
            param=f"items[{index}]",
        )
        for index, item in enumerate(items)
    ]
    validation.check_compatible(
        specs, currency=sub.currency, interval=(sub.interval, sub.interval_count)
    )
    if sub.threshold_amount_gte is not None:
        validation.check_thresholds({"amount_gte": sub.threshold_amount_gte}, specs)
    sub._loaded_items = items


def _invoice_now(change: _Change) -> None:
    """``always_invoice``: bill the prorations and pending items on an invoice now."""
    if change.behavior != ALWAYS or not change.prorated:
        return
    sub = change.sub
    pending = pending_items(subscription=sub)
    invoice = subscription_invoice_create(
        subscription=sub,
        billing_reason=Invoice.BillingReason.SUBSCRIPTION_UPDATE,
        period_start=change.at,
        period_end=change.at,
        drafts=pending_drafts(pending),
        items=pending,
        now=change.now,
        finalize_at=None,
    )
    sub.latest_invoice = invoice_finalize(invoice=invoice, now=change.now)


def _thresholds(sub: Subscription, params: dict[str, Any]) -> None:
    if "billing_thresholds" not in params:
        return
    thresholds = params["billing_thresholds"]
    if thresholds is None:
        sub.threshold_amount_gte = sub.threshold_reset_anchor = None
        return
    sub.threshold_amount_gte = thresholds["amount_gte"]
    sub.threshold_reset_anchor = thresholds.get("reset_billing_cycle_anchor", False)


def _restart(change: _Change, params: dict[str, Any]) -> None:
    """``trial_end`` and ``billing_cycle_anchor=now`` move the period."""
    sub = change.sub
    trial_end = params.get("trial_end")
    if trial_end is not None:
        if sub.status != Subscription.Status.TRIALING:
            raise InvalidRequest(
                "trial_end can only change while the subscription is trialing.",
                param="trial_end",
            )
        if trial_end == "now":
            subscription_period_restart(
                subscription=sub,
                items=sub._loaded_items,
                now=change.now,
                reason=Invoice.BillingReason.SUBSCRIPTION_UPDATE,
            )
            return
        if trial_end <= change.now:
            raise InvalidRequest("trial_end must be in the future.", param="trial_end")
        sub.trial_end = sub.current_period_end = sub.billing_cycle_anchor = trial_end
        sub.anchor_day = trial_end.day
        SubscriptionItem.objects.filter(subscription=sub).update(
            current_period_end=trial_end
        )
    if params.get("billing_cycle_anchor") == "now":
        subscription_period_restart(
            subscription=sub,
            items=sub._loaded_items,
            now=change.now,
            reason=Invoice.BillingReason.SUBSCRIPTION_UPDATE,
        )


def subscription_update(
    *, subscription: Subscription, params: dict[str, Any], now: datetime
) -> Subscription:
    """Update items, cancellation, thresholds, trial and settings of a subscription."""
    with transaction.atomic():
        sub = lock(subscription)
        check_open(sub)
        was = before(sub)
        change = _Change(sub, params, now)
        if params.get("items"):
            _apply_items(change, params["items"])
        if "discounts" in params:
            subscription_discounts_set(
                subscription=sub, entries=params["discounts"], now=now
            )
        _thresholds(sub, params)
        if sub.threshold_amount_gte is not None:
            _check_items(sub)
        subscription_settings_apply(sub, params, now)
        sub.save()
        _invoice_now(change)
        _restart(change, params)
        sub.save()
        sub._loaded_items = list(items_with_prices(sub))
        emit_updated("customer.subscription.updated", sub, was)
        return sub


def subscription_item_create(
    *, subscription: Subscription, params: dict[str, Any], now: datetime
) -> SubscriptionItem:
    """Add one item (``POST /v1/subscription_items``)."""
    entry = {key: params[key] for key in _ITEM_KEYS if key in params}
    with transaction.atomic():
        sub = subscription_update(
            subscription=subscription,
            params={**_proration(params), "items": [entry]},
            now=now,
        )
        return sub.items.select_related("price").get(price_id=params["price"])


def subscription_item_update(
    *, item: SubscriptionItem, params: dict[str, Any], now: datetime
) -> SubscriptionItem:
    """Change one item's price, quantity, thresholds or metadata."""
    entry = {"id": item.pk}
    entry.update({key: params[key] for key in _ITEM_KEYS if key in params})
    subscription_update(
        subscription=item.subscription,
        params={**_proration(params), "items": [entry]},
        now=now,
    )
    return SubscriptionItem.objects.select_related("price").get(pk=item.pk)


def subscription_item_delete(
    *, item: SubscriptionItem, params: dict[str, Any], now: datetime
) -> None:
    """Remove one item; a metered one bills its usage so far."""
    subscription_update(
        subscription=item.subscription,
        params={**_proration(params), "items": [{"id": item.pk, "deleted": True}]},
        now=now,
    )


def _proration(params: dict[str, Any]) -> dict[str, Any]:
    return {
        key: params[key]
        for key in ("proration_behavior", "proration_date")
        if key in params
    }
