"""Rate card migrations at scale: the dry-run report and the confirm.

Target (issue #18), on PostgreSQL: a migration dry run of 10,000 subscriptions
(their last period re-rated under the current and the target version) in ≤ 60 s.

Setup (not measured) writes, with bulk inserts: one meter ``bench_rc_tokens``
with dimension ``model``, a rate card with metered items ``large`` and
``small`` (published v1, then v2 with other rates), 10,000 customers whose
subscriptions follow v1 in their second period (May), and April usage in the
hourly rollups of both segments. Measured: ``rate_card_migration_create`` for
every subscription of the card (``rate_card=``, as the dashboard's "every
subscriber"), then ``rate_card_migration_confirm``; figures also give the
queries, which do not depend on the neighbours on a shared machine.
``--quick``: 500 subscriptions.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench import support

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
JUN1 = datetime(2026, 6, 1, tzinfo=UTC)
TAG = {"bench": "ratecards"}
EVENT = "bench_rc_tokens"


def _clean() -> None:
    """Remove an earlier run's data (finalized invoices only go by TRUNCATE)."""
    from django.db import connection

    from core.models import Customer
    from metering.models import MeterUsageRollup

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE billing_ratecardmigrationsubscription, "
            "billing_ratecardmigration, "
            "billing_invoicelineitem, billing_invoiceitem, billing_invoice, "
            "billing_subscriptionitem, billing_subscription CASCADE"
        )
    customers = Customer.objects.filter(metadata__bench="ratecards")
    MeterUsageRollup.objects.filter(customer__in=customers).delete()
    customers.delete()


def _card():
    """The meter, the rate card and its two published versions."""
    from catalog.rate_cards import services as cards
    from metering.dimensions import dimension_set_id
    from metering.models import Meter, MeterDimensionSet

    meter = Meter.objects.filter(event_name=EVENT, status="active").first()
    if meter is None:
        meter = Meter.objects.create(
            display_name="Bench tokens",
            event_name=EVENT,
            formula="sum",
            dimension_payload_keys=["model"],
        )
    sets = {model: dimension_set_id(meter.pk, (model,)) for model in ("large", "small")}
    MeterDimensionSet.objects.bulk_create(
        [
            MeterDimensionSet(id=set_id, meter=meter, values={"model": model})
            for model, set_id in sets.items()
        ],
        ignore_conflicts=True,
    )
    card = cards.rate_card_create(
        params={
            "display_name": f"Bench plan {uuid.uuid4().hex[:6]}",
            "currency": "usd",
            "service_interval": "month",
        },
        now=APR1,
    )
    items = [
        cards.metered_item_create(
            params={
                "display_name": f"Tokens {model}",
                "meter": meter.pk,
                "meter_segment_conditions": [{"dimension": "model", "value": model}],
            },
            now=APR1,
        )
        for model in ("large", "small")
    ]
    versions = []
    for large, small in (("0.3", "0.1"), ("0.25", "0.15")):
        for item, unit in zip(items, (large, small), strict=True):
            rate = cards.rate_set(
                card=card,
                params={"metered_item": item.pk, "unit_amount": Decimal(unit)},
                now=APR1,
            )
        versions.append(
            cards.rate_card_version_publish(
                card=card, version=rate.rate_card_version, now=APR1
            )
        )
    return meter, sets, card, versions


def _setup(count: int):
    from billing.models import Subscription, SubscriptionItem
    from catalog.models import RateCardRate
    from core.models import Customer
    from metering.models import MeterUsageRollup

    _clean()
    meter, sets, card, (v1, v2) = _card()
    prices = list(
        RateCardRate.objects.filter(rate_card_version=v1).values_list(
            "price_id", flat=True
        )
    )
    customers = [
        Customer(
            name=f"Bench rate cards {index}",
            invoice_prefix=f"R{uuid.uuid4().hex[:10].upper()}",
            metadata=TAG,
            created=APR1,
        )
        for index in range(count)
    ]
    Customer.objects.bulk_create(customers, batch_size=2000)
    subs = [
        Subscription(
            customer=customer,
            status="active",
            currency="usd",
            interval="month",
            interval_count=1,
            billing_cycle_anchor=APR1,
            anchor_day=1,
            start_date=APR1,
            current_period_start=MAY1,
            current_period_end=JUN1,
            rate_card=card,
            rate_card_version=v1,
            rate_card_current_version=v1,
            created=APR1,
        )
        for customer in customers
    ]
    Subscription.objects.bulk_create(subs, batch_size=2000)
    rng = random.Random(18)
    items, rollups = [], []
    for sub in subs:
        items += [
            SubscriptionItem(
                subscription=sub,
                position=position,
                price_id=price_id,
                current_period_start=MAY1,
                current_period_end=JUN1,
                created=APR1,
            )
            for position, price_id in enumerate(prices)
        ]
        for set_id in sets.values():
            for hour in rng.sample(range(29 * 24), 3):
                rollups.append(
                    MeterUsageRollup(
                        meter=meter,
                        customer_id=sub.customer_id,
                        bucket=APR1 + timedelta(hours=hour),
                        dimension_set=set_id,
                        value_sum=Decimal(rng.randrange(1, 80_000)),
                        event_count=1,
                    )
                )
    SubscriptionItem.objects.bulk_create(items, batch_size=5000)
    MeterUsageRollup.objects.bulk_create(rollups, batch_size=5000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return card, v2


def _counted(call):
    """(seconds, queries, result) of ``call()``."""
    from django.db import connection

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        result = call()
        seconds = time.perf_counter() - started
    return seconds, queries, result


def run(args) -> dict:
    from billing.models import Subscription
    from billing.services.rate_card_migrations import (
        rate_card_migration_confirm,
        rate_card_migration_create,
    )

    count = 500 if getattr(args, "quick", False) else 10_000
    card, v2 = _setup(count)
    dry_seconds, dry_queries, migration = _counted(
        lambda: rate_card_migration_create(
            params={"rate_card_version": v2.pk, "rate_card": card.pk},
            now=MAY1 + timedelta(days=3),
        )
    )
    if migration.subscription_count != count or migration.amount_current <= 0:
        raise RuntimeError(f"expected {count} subscriptions re-rated: {migration=}")
    confirm_seconds, confirm_queries, _ = _counted(
        lambda: rate_card_migration_confirm(
            migration=migration, now=MAY1 + timedelta(days=3)
        )
    )
    moved = Subscription.objects.filter(rate_card_version=v2).count()
    if moved != count:
        raise RuntimeError(f"expected {count} subscriptions moved, found {moved}")
    return {
        "subscriptions": count,
        "dry run s (target ≤ 60)": dry_seconds,
        "dry run queries": dry_queries,
        "confirm s": confirm_seconds,
        "confirm queries": confirm_queries,
        "report current total (minor units)": migration.amount_current,
        "report proposed total (minor units)": migration.amount_proposed,
    }


if __name__ == "__main__":
    import argparse

    support.setup_django()
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    support.print_table(
        [("ratecards", key, value) for key, value in run(parser.parse_args()).items()]
    )
