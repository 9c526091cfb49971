"""Subscriptions: create (with the first invoice), update, cancel.

The first invoice (``subscription_create``) charges licensed prices for the first
period in advance, carries a zero-amount line per metered item, and finalizes at
once (a zero total is paid at once). A trial charges nothing until it ends; a
backdated start bills every period from the start date up to the current one; a
future ``billing_cycle_anchor`` makes the first period partial (prorated, or free
with ``proration_behavior=none``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from billing.compose.collect import UsageReader
from billing.compose.rows import items_with_prices
from billing.models import Subscription, SubscriptionItem
from billing.periods import (
    Cycle,
    anchor_from_config,
    boundary,
)
from billing.services import cancellation, validation
from billing.services.discounts import subscription_discounts_set
from billing.services.first_invoice import first_invoice_create, period_segments
from billing.services.invoice_items import invoice_item_create
from billing.services.rate_card_subscriptions import rate_card_following
from billing.taxes.rates import tax_rates_resolve
from core import clock
from core.errors import InvalidRequest, InvalidState
from core.metadata import metadata_merge
from core.models import Customer
from core.services.customers import default_payment_method_check

MAX_TRIAL = timedelta(days=730)


def item_specs(entries: list[dict[str, Any]]) -> list[validation.ItemSpec]:
    if not entries:
        raise InvalidRequest("Missing required param: items.", param="items")
    specs = []
    for index, entry in enumerate(entries):
        param = f"items[{index}]"
        price = validation.load_price(entry["price"], param=f"{param}[price]")
        validation.check_price(price, param=f"{param}[price]")
        specs.append(validation.item_spec(entry, param=param, price=price))
    return specs


def _trial_end(params: dict[str, Any], specs, start: datetime, now: datetime):
    trial_end = params.get("trial_end")
    if trial_end == "now":
        return None
    if trial_end is None and params.get("trial_period_days"):
        trial_end = now + timedelta(days=params["trial_period_days"])
    if trial_end is None and params.get("trial_from_plan"):
        days = specs[0].price.recurring_trial_period_days
        trial_end = now + timedelta(days=days) if days else None
    if trial_end is None:
        return None
    if trial_end <= now:
        raise InvalidRequest(
            "trial_end must be in the future (or 'now' for no trial).",
            param="trial_end",
        )
    if trial_end - start > MAX_TRIAL:
        raise InvalidRequest("A trial can last at most two years.", param="trial_end")
    return trial_end


def _cycle(params, interval, start: datetime, trial_end) -> tuple[Cycle, dict | None]:
    """The billing cycle: anchor from the params, the trial end or the start."""
    unit, count = interval
    config = params.get("billing_cycle_anchor_config")
    base = trial_end or start
    if params.get("billing_cycle_anchor") is not None:
        anchor = params["billing_cycle_anchor"]
        cycle = Cycle(unit, count, anchor)
        if anchor < base or boundary(cycle, -1) > base:
            raise InvalidRequest(
                "billing_cycle_anchor must lie between the start (or trial end) and "
                "the end of the first full billing period.",
                param="billing_cycle_anchor",
            )
        return cycle, None
    if config:
        try:
            anchor = anchor_from_config(start=base, interval=unit, **config)
        except ValueError as error:
            raise InvalidRequest(
                str(error), param="billing_cycle_anchor_config"
            ) from None
        full = {key: config.get(key) for key in ("day_of_month", "hour", "minute")}
        full.update(month=config.get("month"), second=config.get("second"))
        return Cycle(unit, count, anchor, config["day_of_month"]), full
    return Cycle(unit, count, base), None


def _check_collection(params: dict[str, Any]) -> None:
    method = params.get("collection_method", "charge_automatically")
    days = params.get("days_until_due")
    if method == "send_invoice" and days is None:
        raise InvalidRequest(
            "Missing required param: days_until_due (needed with "
            "collection_method=send_invoice).",
            param="days_until_due",
        )
    if method == "charge_automatically" and days is not None:
        raise InvalidRequest(
            "days_until_due can only be set with collection_method=send_invoice.",
            param="days_until_due",
        )


def _check_cancel_at(params: dict[str, Any], start: datetime, now: datetime) -> None:
    cancel_at = params.get("cancel_at")
    if cancel_at is None:
        return
    if params.get("cancel_at_period_end"):
        raise InvalidRequest(
            "You may set only one of cancel_at and cancel_at_period_end.",
            param="cancel_at",
        )
    if cancel_at <= max(now, start):
        raise InvalidRequest("cancel_at must be in the future.", param="cancel_at")


def subscription_create(
    *, customer: Customer, params: dict[str, Any], now: datetime
) -> Subscription:
    """Create a subscription and its first invoice, finalized at once."""
    if customer.deleted:
        raise InvalidRequest("The customer has been deleted.", param="customer")
    following = rate_card_following(params)
    entries = [*(params.get("items") or []), *(following.entries if following else ())]
    specs = item_specs(entries)
    first = specs[0].price
    interval = (first.recurring_interval, first.recurring_interval_count)
    validation.check_compatible(specs, currency=first.currency, interval=interval)
    validation.check_thresholds(params.get("billing_thresholds"), specs)
    _check_collection(params)
    start = params.get("backdate_start_date") or now
    if start > now:
        raise InvalidRequest(
            "backdate_start_date must be in the past.", param="backdate_start_date"
        )
    trial_end = _trial_end(params, specs, start, now)
    cycle, config = _cycle(params, interval, start, trial_end)
    _check_cancel_at(params, start, now)
    segments = period_segments(cycle, start, now, trial_end)
    with transaction.atomic():
        sub = _subscription_row(
            customer, params, cycle, config, start, trial_end, first.currency, now
        )
        sub.current_period_start, sub.current_period_end = segments[-1]
        if following:
            following.apply(sub)
        sub.save(force_insert=True)
        items = _items_create(sub, specs, now)
        if params.get("discounts"):
            subscription_discounts_set(
                subscription=sub, entries=params["discounts"], now=now
            )
        for entry in params.get("add_invoice_items") or []:
            invoice_item_create(
                customer=customer,
                params={**entry, "subscription": sub.pk},
                now=now,
            )
        return first_invoice_create(sub, items, segments, params, trial_end, now)


def _subscription_row(
    customer, params, cycle, config, start, trial_end, currency, now
) -> Subscription:
    thresholds = params.get("billing_thresholds")
    return Subscription(
        customer=customer,
        test_clock_id=customer.test_clock_id,
        status=(
            Subscription.Status.TRIALING if trial_end else Subscription.Status.ACTIVE
        ),
        currency=currency,
        interval=cycle.interval,
        interval_count=cycle.count,
        billing_cycle_anchor=cycle.anchor,
        anchor_day=cycle.anchor_day,
        billing_cycle_anchor_config=config,
        start_date=start,
        trial_start=start if trial_end else None,
        trial_end=trial_end,
        cancel_at=params.get("cancel_at"),
        cancel_at_period_end=params.get("cancel_at_period_end", False),
        collection_method=params.get("collection_method", "charge_automatically"),
        days_until_due=params.get("days_until_due"),
        threshold_amount_gte=thresholds["amount_gte"] if thresholds else None,
        threshold_reset_anchor=(
            thresholds.get("reset_billing_cycle_anchor", False) if thresholds else None
        ),
        description=params.get("description"),
        default_payment_method=_payment_method(customer, params),
        metadata=params.get("metadata") or {},
        default_tax_rates=tax_rates_resolve(
            params.get("default_tax_rates"), param="default_tax_rates"
        ),
        created=now,
        livemode=customer.livemode,
    )


def _payment_method(customer: Customer, params: dict[str, Any]) -> str | None:
    """The subscription's ``default_payment_method``, if the customer has it."""
    payment_method = params.get("default_payment_method")
    if payment_method:
        default_payment_method_check(
            customer=customer,
            payment_method=payment_method,
            param="default_payment_method",
        )
    return payment_method or None


def _items_create(sub, specs, now) -> list[SubscriptionItem]:
    items = [
        SubscriptionItem(
            subscription=sub,
            position=position,
            price=spec.price,
            quantity=None if spec.price.is_metered else spec.quantity,
            usage_gte=spec.usage_gte,
            metadata=spec.metadata,
            tax_rates=spec.tax_rates,
            current_period_start=sub.current_period_start,
            current_period_end=sub.current_period_end,
            created=now,
            livemode=sub.livemode,
        )
        for position, spec in enumerate(specs)
    ]
    SubscriptionItem.objects.bulk_create(items)
    sub._loaded_items = items
    return items


# ---- update and cancel ------------------------------------------------------------


def lock(subscription: Subscription) -> Subscription:
    """Lock the subscription row (first in the locking order) and load its items."""
    sub = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(pk=subscription.pk)
    )
    sub._loaded_items = list(items_with_prices(sub))
    return sub


def check_open(sub: Subscription) -> None:
    if sub.status in (
        Subscription.Status.CANCELED,
        Subscription.Status.INCOMPLETE_EXPIRED,
    ):
        raise InvalidState(
            f"The subscription {sub.pk} is {sub.status} and can no longer be changed.",
            code="resource_invalid_state",
        )


def subscription_cancel(
    *,
    subscription: Subscription,
    invoice_now: bool = False,
    prorate: bool = False,
    details: dict[str, Any] | None = None,
    now: datetime,
    usage: UsageReader | None = None,
) -> Subscription:
    """Cancel now (``DELETE``): optionally credit unused time, invoice usage so far."""
    with transaction.atomic():
        sub = lock(subscription)
        check_open(sub)
        if details:
            sub.cancellation_details = {
                "comment": details.get("comment"),
                "feedback": details.get("feedback"),
                "reason": "cancellation_requested",
            }
            sub.save(update_fields=["cancellation_details"])
        sub.canceled_at = now
        cancellation.subscription_end(
            subscription=sub,
            items=sub._loaded_items,
            at=max(now, sub.current_period_start),
            invoice_now=invoice_now,
            prorate=prorate,
            now=now,
            usage=usage,
        )
        return sub


def subscription_settings_apply(sub: Subscription, params: dict[str, Any], now) -> None:
    """Apply the non-item settings of an update to a locked subscription."""
    if "cancel_at_period_end" in params:
        sub.cancel_at_period_end = params["cancel_at_period_end"]
        if sub.cancel_at_period_end:
            sub.cancel_at = None
    if "cancel_at" in params:
        if params["cancel_at"] is not None and params["cancel_at"] <= now:
            raise InvalidRequest("cancel_at must be in the future.", param="cancel_at")
        sub.cancel_at = params["cancel_at"]
        if sub.cancel_at is not None:
            sub.cancel_at_period_end = False
    if sub.cancel_at is None and not sub.cancel_at_period_end:
        sub.canceled_at = None
    elif sub.canceled_at is None:
        sub.canceled_at = now
    for field in ("description", "days_until_due", "collection_method"):
        if field in params:
            setattr(sub, field, params[field])
    if "collection_method" in params or "days_until_due" in params:
        _check_collection(
            {
                "collection_method": sub.collection_method,
                "days_until_due": sub.days_until_due,
            }
        )
    if "default_payment_method" in params:
        sub.default_payment_method = _payment_method(sub.customer, params)
    if "metadata" in params:
        sub.metadata = metadata_merge(sub.metadata, params["metadata"])
    if "default_tax_rates" in params:
        sub.default_tax_rates = tax_rates_resolve(
            params["default_tax_rates"],
            param="default_tax_rates",
            keep=sub.default_tax_rates,
        )


def customer_subscriptions_cancel(customer: Customer) -> None:
    """Cancel a deleted customer's subscriptions (inside the deleting transaction)."""
    now = clock.now_for_customer(customer)
    open_subscriptions = Subscription.objects.filter(customer=customer).exclude(
        status__in=(
            Subscription.Status.CANCELED,
            Subscription.Status.INCOMPLETE_EXPIRED,
        )
    )
    for subscription in open_subscriptions.order_by("id"):
        subscription_cancel(subscription=subscription, now=now)
