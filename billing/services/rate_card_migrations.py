"""Rate card migrations: a dry-run report, then staff confirm (docs/ratecards.md).

The report re-rates each chosen subscription's last ended period under the
version it follows now and under the target version, from the same usage and
through the same engine as invoices (``amounts.usage_amount``, rounded once per
line). Usage is read in bulk: one grouped query per (meter, segment, period)
for the whole set, however many subscriptions (``UsageReader``). Confirming pins
the chosen subscriptions to the target version from their next period start;
the current period, and every invoice already issued, keep their rates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from billing import amounts
from billing.compose.collect import UsageReader
from billing.compose.rows import cycle_of, spec_of
from billing.models import (
    RateCardMigration,
    RateCardMigrationSubscription,
    Subscription,
)
from billing.periods import period_containing
from catalog.models import RateCardRate, RateCardVersion
from core.bulk import bulk_save
from core.errors import InvalidRequest, InvalidState, ResourceMissing

MAX_SUBSCRIPTIONS = 100_000


def _target(version_id: str) -> RateCardVersion:
    version = (
        RateCardVersion.objects.select_related("rate_card")
        .filter(pk=version_id)
        .first()
    )
    if version is None:
        raise ResourceMissing.for_id(
            "rate_card_version", version_id, param="rate_card_version"
        )
    if not version.is_published:
        raise InvalidRequest(
            f"The version '{version.pk}' is a draft; publish it before migrating "
            "subscriptions to it.",
            param="rate_card_version",
        )
    return version


def _chosen(params: dict[str, Any]) -> list[Subscription]:
    """The subscriptions named, or every billing one that follows ``rate_card``."""
    ids, card_id = params.get("subscriptions") or [], params.get("rate_card")
    if bool(ids) == bool(card_id):
        raise InvalidRequest(
            "Give exactly one of subscriptions (ids) and rate_card (every "
            "subscription that follows it).",
            param="subscriptions",
        )
    if card_id:
        subs = Subscription.objects.filter(
            rate_card_id=card_id, status__in=Subscription.BILLING_STATUSES
        )
        return list(subs.order_by("id")[:MAX_SUBSCRIPTIONS])
    found = Subscription.objects.in_bulk(ids)
    for index, sub_id in enumerate(ids):
        if sub_id not in found:
            raise ResourceMissing.for_id(
                "subscription", sub_id, param=f"subscriptions[{index}]"
            )
    return [found[sub_id] for sub_id in dict.fromkeys(ids)]


def _check(subs: Sequence[Subscription], target: RateCardVersion) -> None:
    card = target.rate_card
    if not subs:
        raise InvalidRequest("No subscription to migrate.", param="subscriptions")
    for index, sub in enumerate(subs):
        param = f"subscriptions[{index}]"
        if not sub.rate_card_id or not sub.is_billing:
            raise InvalidRequest(
                f"The subscription '{sub.pk}' does not follow a rate card (or has "
                "ended).",
                param=param,
            )
        if sub.currency != card.currency:
            raise InvalidRequest(
                f"The subscription '{sub.pk}' bills in {sub.currency.upper()}; the "
                f"version '{target.pk}' rates in {card.currency.upper()}.",
                param="rate_card_version",
                code="rate_card_currency_mismatch",
            )
        if (sub.interval, sub.interval_count) != (
            card.service_interval,
            card.service_interval_count,
        ):
            raise InvalidRequest(
                f"The subscription '{sub.pk}' bills every {sub.interval_count} "
                f"{sub.interval}(s); the rate card '{card.pk}' every "
                f"{card.service_interval_count} {card.service_interval}(s).",
                param="rate_card_version",
                code="rate_card_interval_mismatch",
            )


def last_period(sub: Subscription) -> tuple[datetime, datetime] | None:
    """The subscription's last ended period ``[start, end)``; None in its first."""
    if sub.current_period_start <= sub.start_date:
        return None
    start, _ = period_containing(
        cycle_of(sub), sub.current_period_start - timedelta(seconds=1)
    )
    return max(start, sub.start_date), sub.current_period_start


def _rates(version_ids: set[str]) -> dict[str, list[RateCardRate]]:
    found: dict[str, list[RateCardRate]] = {pk: [] for pk in version_ids}
    for rate in RateCardRate.objects.filter(
        rate_card_version__in=version_ids
    ).select_related("price__recurring_meter"):
        spec_of(rate.price)
        found[rate.rate_card_version_id].append(rate)
    return found


def _amount(rates, customer_id, period, usage: UsageReader) -> int:
    """What ``rates`` bill for the customer's usage in ``period`` (minor units)."""
    return sum(
        amounts.usage_amount(
            spec_of(rate.price),
            usage.price_usage(rate.price, customer_id, *period),
            None,
        ).amount
        for rate in rates
    )


def migration_report(
    subs: Sequence[Subscription], target: RateCardVersion
) -> list[RateCardMigrationSubscription]:
    """Each subscription's last period under its current and the target version."""
    rates = _rates({sub.rate_card_current_version_id for sub in subs} | {target.pk})
    usage, periods = UsageReader(), {}
    for sub in subs:
        periods[sub.pk] = period = last_period(sub)
        if period is None:
            continue
        for version in (sub.rate_card_current_version_id, target.pk):
            for rate in rates[version]:
                usage.expect_price(rate.price, sub.customer_id, *period)
    rows = []
    for sub in subs:
        period = periods[sub.pk]
        current = proposed = 0
        if period is not None:
            current = _amount(
                rates[sub.rate_card_current_version_id], sub.customer_id, period, usage
            )
            proposed = _amount(rates[target.pk], sub.customer_id, period, usage)
        rows.append(
            RateCardMigrationSubscription(
                subscription_id=sub.pk,
                customer_id=sub.customer_id,
                from_version_id=sub.rate_card_current_version_id,
                period_start=period[0] if period else None,
                period_end=period[1] if period else None,
                amount_current=current,
                amount_proposed=proposed,
                livemode=sub.livemode,
            )
        )
    return rows


def rate_card_migration_create(
    *, params: dict[str, Any], now: datetime
) -> RateCardMigration:
    """Make a migration's dry-run report; nothing moves until it is confirmed."""
    target = _target(params["rate_card_version"])
    subs = _chosen(params)
    _check(subs, target)
    rows = migration_report(subs, target)
    with transaction.atomic():
        migration = RateCardMigration.objects.create(
            rate_card_version=target,
            currency=target.rate_card.currency,
            subscription_count=len(rows),
            amount_current=sum(row.amount_current for row in rows),
            amount_proposed=sum(row.amount_proposed for row in rows),
            metadata=params.get("metadata") or {},
            created=now,
            livemode=target.livemode,
        )
        for row in rows:
            row.migration = migration
        RateCardMigrationSubscription.objects.bulk_create(rows, batch_size=5_000)
    return migration


@transaction.atomic
def rate_card_migration_confirm(
    *, migration: RateCardMigration, now: datetime
) -> RateCardMigration:
    """Pin the chosen subscriptions to the target version from their next period."""
    migration = RateCardMigration.objects.select_for_update().get(pk=migration.pk)
    if migration.status != RateCardMigration.Status.DRY_RUN:
        raise InvalidState(
            f"The migration '{migration.pk}' is already confirmed.",
            code="rate_card_migration_confirmed",
        )
    target = RateCardVersion.objects.select_related("rate_card").get(
        pk=migration.rate_card_version_id
    )
    rows = {row.subscription_id: row for row in migration.subscriptions.all()}
    subs = list(
        Subscription.objects.select_for_update(of=("self",))
        .filter(pk__in=list(rows))
        .order_by("pk")
    )
    subs = [sub for sub in subs if sub.is_billing]  # ended since: nothing to move
    if subs:
        _check(subs, target)
    for sub in subs:
        sub.rate_card_id = target.rate_card_id
        sub.rate_card_version_id = target.pk
        rows[sub.pk].effective_at = sub.current_period_end
    bulk_save(subs, ["rate_card", "rate_card_version"])
    bulk_save(list(rows.values()), ["effective_at"])
    migration.status = RateCardMigration.Status.CONFIRMED
    migration.confirmed_at = now
    migration.save(update_fields=["status", "confirmed_at"])
    return migration
