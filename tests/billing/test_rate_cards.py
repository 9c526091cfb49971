"""Subscriptions that follow a rate card: the version in force for a period rates
it (pinned or latest), preview equals invoice, a migration moves exactly the
chosen subscribers at their next period and leaves issued invoices untouched."""

from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import Invoice, RateCardMigration, Subscription, SubscriptionItem
from billing.services import subscription_create
from billing.services.rate_card_migrations import (
    rate_card_migration_confirm,
    rate_card_migration_create,
)
from billing.services.rate_card_subscriptions import rate_card_periods_start
from catalog.models import RateCardRate
from catalog.rate_cards import services as cards
from tests.billing.factories import CustomerFactory
from tests.billing.rate_card_fixtures import APR1, JUN1, MAY1, Card, make_meter, send
from tests.billing.test_preview_equals_invoice import (
    close_and_finalize,
    issued,
    latest,
    preview_of,
)

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)


def cycle_total(sub, start):
    invoice = Invoice.objects.get(
        subscription=sub, billing_reason="subscription_cycle", period_start=start
    )
    return invoice.total


@pytest.fixture
def card():
    return Card(make_meter())


def test_pinned_keeps_its_version_latest_moves_at_the_next_period(card):
    v1 = card.publish(large=3, small=1)
    pinned, follows = card.subscribe(version=v1), card.subscribe()
    for sub in (pinned, follows):
        send(sub.customer, 100, APR1 + HOUR, "large")
        send(sub.customer, 50, APR1 + 2 * HOUR, "small")
    # Published mid-period: this period stays at v1 for both.
    v2 = card.publish(now=APR1 + timedelta(days=10), large=5)
    close_and_finalize(MAY1)
    assert cycle_total(pinned, APR1) == cycle_total(follows, APR1) == 300 + 50
    for sub in (pinned, follows):
        send(sub.customer, 100, MAY1 + HOUR, "large")
        send(sub.customer, 50, MAY1 + 2 * HOUR, "small")
    close_and_finalize(JUN1)
    assert cycle_total(pinned, MAY1) == 300 + 50
    assert cycle_total(follows, MAY1) == 500 + 50  # v2 kept small at 1
    follows.refresh_from_db()
    assert follows.rate_card_current_version_id == v2.id
    assert follows.rate_card_version_id is None


def test_preview_equals_invoice_for_a_rate_card_subscription(card):
    card.publish(large="0.5", small="0.25")
    sub = card.subscribe()
    send(sub.customer, 1001, APR1 + HOUR, "large")  # 500.5 → 501 (half up)
    send(sub.customer, 7, APR1 + HOUR, "small")  # 1.75 → 2
    send(sub.customer, 3, APR1 + HOUR, "other")  # in no segment: not billed
    before = preview_of(sub, MAY1 - HOUR)
    close_and_finalize(MAY1)
    after = issued(latest(sub, "subscription_cycle"))
    assert before == after
    assert after[0][1] == 501 + 2
    assert [line[1:3] for line in after[1]] == [(1001, 501), (7, 2)]
    assert "Tokens large (model: large)" in after[1][0][0]


def test_migration_moves_exactly_the_chosen_at_their_next_period(card):
    v1 = card.publish(large=3, small=1)
    subs = [card.subscribe(version=v1) for _ in range(3)]
    for index, sub in enumerate(subs):
        send(sub.customer, 100 * (index + 1), APR1 + HOUR, "large")
        send(sub.customer, 10, APR1 + HOUR, "small")
    close_and_finalize(MAY1)
    april = {sub.pk: issued(latest(sub, "subscription_cycle")) for sub in subs}
    v2 = card.publish(now=MAY1 + HOUR, large=2, small=4)
    chosen, untouched = subs[:2], subs[2]

    dry = rate_card_migration_create(
        params={"rate_card_version": v2.id, "subscriptions": [s.pk for s in chosen]},
        now=MAY1 + 2 * HOUR,
    )
    rows = {row.subscription_id: row for row in dry.subscriptions.all()}
    # April re-rated: v1 = 3·large + 1·small, v2 = 2·large + 4·small.
    assert [
        (rows[s.pk].amount_current, rows[s.pk].amount_proposed) for s in chosen
    ] == [
        (310, 240),
        (610, 440),
    ]
    assert (dry.amount_current, dry.amount_proposed) == (920, 680)
    assert rows[chosen[0].pk].period_start == APR1
    assert rows[chosen[0].pk].period_end == MAY1
    # A dry run moves nothing.
    assert {
        s.rate_card_version_id for s in Subscription.objects.filter(pk__in=rows)
    } == {v1.id}

    rate_card_migration_confirm(migration=dry, now=MAY1 + 3 * HOUR)
    dry.refresh_from_db()
    assert dry.status == RateCardMigration.Status.CONFIRMED
    assert {row.effective_at for row in dry.subscriptions.all()} == {JUN1}

    for sub in subs:
        send(sub.customer, 100, MAY1 + 5 * HOUR, "large")
        send(sub.customer, 10, MAY1 + 5 * HOUR, "small")
    # The current period keeps v1 until it ends: preview and invoice agree.
    previews = {sub.pk: preview_of(sub, JUN1 - HOUR) for sub in subs}
    close_and_finalize(JUN1)
    for sub in subs:
        assert previews[sub.pk] == issued(latest(sub, "subscription_cycle"))
        assert cycle_total(sub, MAY1) == 310
        # Issued invoices are untouched.
        assert (
            issued(
                Invoice.objects.get(
                    subscription=sub,
                    billing_reason="subscription_cycle",
                    period_start=APR1,
                )
            )
            == april[sub.pk]
        )
    for sub in subs:
        send(sub.customer, 100, JUN1 + HOUR, "large")
        send(sub.customer, 10, JUN1 + HOUR, "small")
    close_and_finalize(JUN1 + timedelta(days=30))
    assert [cycle_total(sub, JUN1) for sub in chosen] == [240, 240]
    assert cycle_total(untouched, JUN1) == 310
    untouched.refresh_from_db()
    assert untouched.rate_card_current_version_id == v1.id


def test_late_usage_keeps_the_rate_of_its_period(card):
    """Usage of April that arrives after April's invoice is final bills on the
    next invoice at April's version, though the item has the new one since."""
    card.publish(large=3, small=1)
    sub = card.subscribe()
    card.publish(now=APR1 + timedelta(days=10), large=5)
    send(sub.customer, 100, APR1 + HOUR, "large")
    close_and_finalize(MAY1)
    assert cycle_total(sub, APR1) == 300
    send(sub.customer, 10, MAY1 - HOUR, "large", now=MAY1 + timedelta(days=4))
    send(sub.customer, 100, MAY1 + HOUR, "large")
    before = preview_of(sub, JUN1 - HOUR)
    close_and_finalize(JUN1)
    june = issued(latest(sub, "subscription_cycle"))
    assert before == june
    assert cycle_total(sub, MAY1) == 500 + 30
    assert sorted(line[1:3] for line in june[1]) == [(0, 0), (10, 30), (100, 500)]


def test_a_version_that_drops_an_item_removes_it_at_the_next_period(card):
    card.publish(large=3, small=1)
    sub = card.subscribe()
    draft = cards.rate_set(
        card=card.card,
        params={"metered_item": card.items["large"].id, "unit_amount": 5},
        now=APR1,
    ).rate_card_version
    small = RateCardRate.objects.get(
        rate_card_version=draft, metered_item=card.items["small"]
    )
    cards.rate_card_version_publish(
        card=card.card,
        version=cards.rate_delete(card=card.card, rate=small).rate_card_version,
        now=APR1,
    )
    send(sub.customer, 100, APR1 + HOUR, "large")
    send(sub.customer, 50, APR1 + HOUR, "small")
    close_and_finalize(MAY1)
    assert cycle_total(sub, APR1) == 350
    items = list(SubscriptionItem.objects.filter(subscription=sub))
    assert [item.price_id for item in items] == [
        RateCardRate.objects.get(rate_card_version=draft).price_id
    ]
    send(sub.customer, 100, MAY1 + HOUR, "large")
    send(sub.customer, 50, MAY1 + HOUR, "small")
    before = preview_of(sub, JUN1 - HOUR)
    close_and_finalize(JUN1)
    assert before == issued(latest(sub, "subscription_cycle"))
    assert cycle_total(sub, MAY1) == 500


def test_period_start_reads_nothing_for_subscriptions_without_a_card(
    card, django_assert_num_queries
):
    card.publish(large=3)
    plain = subscription_create(
        customer=CustomerFactory(),
        params={"items": [{"price": RateCardRate.objects.get().price_id}]},
        now=APR1,
    )
    with django_assert_num_queries(0):
        rate_card_periods_start([plain], now=MAY1)


UNITS = st.sampled_from(["0.1", "1", "3", "0.0333", "2.5"])


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    large=st.integers(1, 50_000),
    small=st.integers(1, 50_000),
    first=st.tuples(UNITS, UNITS),
    second=st.tuples(UNITS, UNITS),
)
def test_dry_run_equals_the_invoices_under_both_versions(large, small, first, second):
    """The report's current figure is the last period's invoice; its proposed
    figure is what the target version invoices for the same usage."""
    with transaction.atomic():
        plan = Card(make_meter())
        v1 = plan.publish(large=first[0], small=first[1])
        pinned, follows = plan.subscribe(version=v1), plan.subscribe()
        for sub in (pinned, follows):
            send(sub.customer, large, APR1 + HOUR, "large")
            send(sub.customer, small, APR1 + HOUR, "small")
        v2 = plan.publish(now=APR1 + HOUR, large=second[0], small=second[1])
        close_and_finalize(MAY1)
        report = rate_card_migration_create(
            params={"rate_card_version": v2.id, "subscriptions": [pinned.pk]},
            now=MAY1 + HOUR,
        )
        row = report.subscriptions.get()
        assert row.amount_current == cycle_total(pinned, APR1)
        send(follows.customer, large, MAY1 + HOUR, "large")
        send(follows.customer, small, MAY1 + HOUR, "small")
        close_and_finalize(JUN1)
        assert row.amount_proposed == cycle_total(follows, MAY1)
        assert report.amount_proposed - report.amount_current == (
            row.amount_proposed - row.amount_current
        )
        transaction.set_rollback(True)
