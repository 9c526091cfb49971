"""Usage limits: cut a feature when a customer reaches a limit, restore it after.

``limits_evaluate`` is the one entry point: the ingestion trigger calls it with
the customers whose usage just changed, Beat runs it every minute for every
real-time customer with limits (the safety net), and test-clock advances run
it for the clock's customers at the clock's time. Subscription changes, feature
attachments and credit movements refresh the customers concerned through the
same per-customer step (``access_refresh``).

Per customer, figures are read first (usage from the rollups, spend from the
invoice preview; see ``alerts.access``), then, under the lock of the customer's
``CustomerAccess`` row, in one transaction:

- a crossing in force is lifted when its period is over (``period_ended``),
  when the figure fell below the level because staff raised it
  (``limit_raised``), because credits now cover the spend of a monetary limit
  (``credits_granted``) or because usage was cancelled (``usage_corrected``),
  when the limit was deactivated (``limit_deactivated``) or no longer has a
  subscription item to count in (``no_subscription``);
- a limit whose figure reached its level without a crossing in force records
  one: unique per (limit, customer, period, sequence), and at most one in force
  per (limit, customer), so two workers cannot both act on one crossing;
- the active entitlements are synced (one summary event if they changed) and
  the check snapshot is rewritten.

Events beyond a limit are still stored and billed: nothing here touches usage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q

from alerts.access import (
    ENTITLING_STATUSES,
    LimitPeriod,
    crossings_in_force,
    entitling_items,
    limit_period,
    limit_value,
    limits_of,
)
from alerts.models import (
    ActiveEntitlement,
    CustomerAccess,
    UsageLimit,
    UsageLimitCrossing,
)
from alerts.services.entitlements import entitlements_sync
from alerts.services.snapshot_cache import (
    snapshot_read,
    snapshot_recent,
    snapshot_remember,
    snapshot_token,
)
from alerts.services.snapshot_listener import listener_ensure
from alerts.services.snapshots import (
    Evaluated,
    access_body,
    access_snapshot_write,
    evaluate_periods,
)
from billing.models import SubscriptionItem
from catalog.models import ProductFeature
from core.models import Customer, TestClock

logger = logging.getLogger(__name__)

Reason = UsageLimitCrossing.LiftReason
# Customers handled per round of reads.
CHUNK = 200


def _with_limits() -> Q:
    """Customers with an active limit (their own or on a price they pay) or a cut."""
    active = UsageLimit.objects.filter(status=UsageLimit.Status.ACTIVE)
    priced = active.filter(price__isnull=False).values("price_id")
    cut = UsageLimitCrossing.objects.filter(lifted_at__isnull=True)
    return (
        Q(pk__in=active.filter(customer__isnull=False).values("customer_id"))
        | Q(
            subscriptions__status__in=ENTITLING_STATUSES,
            subscriptions__items__price_id__in=priced,
        )
        | Q(pk__in=cut.values("customer_id"))
    )


def _customers(
    customer_ids: Collection[str] | None, test_clock: TestClock | None
) -> list[Customer]:
    rows = Customer.objects.filter(deleted=False).select_related("test_clock")
    if customer_ids is not None:
        rows = rows.filter(pk__in=list(customer_ids))
        rows = rows.filter(
            _with_limits() | Q(pk__in=CustomerAccess.objects.values("customer_id"))
        )
    else:
        rows = rows.filter(_with_limits())
    if test_clock is not None:
        rows = rows.filter(test_clock=test_clock)
    elif customer_ids is None:
        rows = rows.filter(test_clock__isnull=True)
    return list(rows.distinct().order_by("pk"))


def _now_of(
    customer: Customer, now: datetime, test_clock: TestClock | None
) -> datetime:
    """Real-time customers live at ``now``; a clock's customers at its time."""
    if test_clock is not None or customer.test_clock_id is None:
        return now
    return customer.test_clock.frozen_time


def limits_evaluate(
    *,
    now: datetime,
    customer_ids: Collection[str] | None = None,
    test_clock: TestClock | None = None,
) -> int:
    """Cut and restore features of customers with limits; returns crossings acted on.

    ``customer_ids`` None: every real-time customer with limits (or the clock's,
    with ``test_clock``). Given ids are each evaluated on their own clock.
    """
    return _refresh(_customers(customer_ids, test_clock), now, test_clock)


def access_refresh(*, customer_ids: Collection[str], now: datetime) -> int:
    """Sync entitlements, limits and snapshots of these customers (any of them).

    Only customers with something to keep are loaded (one query picks them): a
    period close of thousands of subscriptions without features or limits pays
    that query and nothing more.
    """
    rows = (
        Customer.objects.filter(pk__in=list(customer_ids), deleted=False)
        .filter(_concerned())
        .select_related("test_clock")
        .distinct()
        .order_by("pk")
    )
    return _refresh(list(rows), now, None)


def customer_access_get(
    *, customer_id: str, livemode: bool, now: datetime
) -> CustomerAccess | None:
    """The customer's access snapshot, computed and stored when missing.

    None when no such customer exists in this mode. A snapshot this process read
    and has not heard changed is answered without a query (``snapshot_cache``).
    """
    listener_ensure()
    access = snapshot_recent(customer_id=customer_id, livemode=livemode)
    if access is not None:
        return access
    token = snapshot_token()
    read_at = time.monotonic()
    access = snapshot_read(customer_id=customer_id, livemode=livemode)
    if access is not None:
        snapshot_remember(access, read_at=read_at, token=token)
        return access
    customer = (
        Customer.objects.filter(pk=customer_id, livemode=livemode, deleted=False)
        .select_related("test_clock")
        .first()
    )
    if customer is None:
        return None
    _refresh([customer], now, None)
    return CustomerAccess.objects.get(customer=customer)


def _concerned() -> Q:
    """Customers with limits, features through a subscription, entitlements or a
    check snapshot: those whose access a subscription change can alter."""
    featured = SubscriptionItem.objects.filter(
        subscription__status__in=ENTITLING_STATUSES,
        price__product_id__in=ProductFeature.objects.values("product_id"),
    ).values("subscription__customer_id")
    return (
        _with_limits()
        | Q(pk__in=featured)
        | Q(pk__in=ActiveEntitlement.objects.values("customer_id"))
        | Q(pk__in=CustomerAccess.objects.values("customer_id"))
    )


def _refresh(
    customers: list[Customer],
    now: datetime,
    test_clock: TestClock | None,
) -> int:
    acted = 0
    for offset in range(0, len(customers), CHUNK):
        chunk = customers[offset : offset + CHUNK]
        ids = [customer.pk for customer in chunk]
        items = entitling_items(ids)
        pairs = limits_of(ids, items)
        for customer in chunk:
            acted += _customer_refresh(
                customer=customer,
                items=items.get(customer.pk, []),
                limits=[limit for limit, owner in pairs if owner == customer.pk],
                now=_now_of(customer, now, test_clock),
            )
    return acted


def access_lock(customer: Customer) -> CustomerAccess:
    """Lock (creating it first if needed) the customer's access row."""
    CustomerAccess.objects.get_or_create(
        customer=customer, defaults={"livemode": customer.livemode}
    )
    return CustomerAccess.objects.select_for_update().get(customer=customer)


def _customer_refresh(
    *,
    customer: Customer,
    items: list[SubscriptionItem],
    limits: list[UsageLimit],
    now: datetime,
) -> int:
    periods = [
        period
        for period in (limit_period(limit, customer.pk, items) for limit in limits)
        if period is not None
    ]
    evaluated = evaluate_periods(periods, now)  # read before the lock
    with transaction.atomic():
        access = access_lock(customer)
        acted, evaluated = _decide(customer, evaluated, now)
        entitlements_sync(customer=customer)
        in_force = {c.limit_id: c for c in crossings_in_force([customer.pk])}
        body = access_body(
            customer=customer,
            items=items,
            evaluated=evaluated,
            in_force=in_force,
            now=now,
        )
        access_snapshot_write(access=access, customer=customer, body=body, now=now)
    return acted


def _decide(
    customer: Customer, evaluated: list[Evaluated], now: datetime
) -> tuple[int, list[Evaluated]]:
    """Lift crossings that no longer hold and record new ones.

    Returns how many it acted on, and the figures with those re-read under the
    lock (see ``_reread``).
    """
    acted = 0
    figures: list[Evaluated] = []
    in_force = {c.limit_id: c for c in crossings_in_force([customer.pk])}
    for entry in evaluated:
        limit = entry.period.limit
        crossing = in_force.pop(limit.pk, None)
        if crossing is not None:
            reason = _lift_reason(crossing, entry.period, entry.value)
            if reason not in (None, Reason.PERIOD_ENDED):
                entry = _reread(entry, now)
                reason = _lift_reason(crossing, entry.period, entry.value)
            figures.append(entry)
            if reason is None:
                continue  # still cut
            _lift(crossing, reason, now)
            acted += 1
        else:
            figures.append(entry)
        if entry.value >= limit.level:
            acted += _cross(customer, entry.period, entry.value, now)
    for crossing in in_force.values():
        limit = crossing.limit
        inactive = limit.status != UsageLimit.Status.ACTIVE
        _lift(
            crossing,
            Reason.LIMIT_DEACTIVATED if inactive else Reason.NO_SUBSCRIPTION,
            now,
        )
        acted += 1
    return acted, figures


def _reread(entry: Evaluated, now: datetime) -> Evaluated:
    """The figure read again, now that the customer's lock is held.

    The first read comes before the lock: another worker may have cut meanwhile
    on usage that read did not see yet, and its lower figure is no reason to
    restore access. Lifts on a figure are rare, so only they pay a second read.
    """
    return Evaluated(period=entry.period, value=limit_value(entry.period, now))


def _lift_reason(
    crossing: UsageLimitCrossing, period: LimitPeriod, value
) -> str | None:
    limit = period.limit
    if crossing.period_start != period.start:
        return Reason.PERIOD_ENDED
    if value >= limit.level:
        return None
    if limit.level > crossing.level:
        return Reason.LIMIT_RAISED
    if limit.limit_type == UsageLimit.LimitType.MONETARY:
        return Reason.CREDITS_GRANTED
    return Reason.USAGE_CORRECTED


def _lift(crossing: UsageLimitCrossing, reason: str, now: datetime) -> None:
    crossing.lifted_at = now
    crossing.lift_reason = reason
    crossing.save(update_fields=["lifted_at", "lift_reason"])
    logger.info(
        "Usage limit %s no longer cuts %s (%s)",
        crossing.limit_id,
        crossing.customer_id,
        reason,
    )


def _cross(customer: Customer, period: LimitPeriod, value, now: datetime) -> int:
    """Record the crossing once; 0 if another worker recorded it first."""
    limit = period.limit
    sequence = (
        UsageLimitCrossing.objects.filter(
            limit=limit, customer=customer, period_start=period.start
        ).count()
        + 1
    )
    try:
        with transaction.atomic():
            UsageLimitCrossing.objects.create(
                limit=limit,
                customer=customer,
                period_start=period.start,
                period_end=period.end,
                sequence=sequence,
                value=value,
                level=limit.level,
                created=now,
                livemode=customer.livemode,
            )
    except IntegrityError:
        return 0  # acted on already, by an earlier run or another worker
    logger.info("Usage limit %s cut %s at %s", limit.pk, customer.pk, value)
    return 1
