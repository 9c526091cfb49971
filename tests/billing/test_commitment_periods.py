"""Minimum spend in periods cut short, to the cent: a cancellation mid-period, a
first period that starts mid-cycle, a term that starts or ends inside a period
(each per ``minimum_spend[proration]``), and licensed fees counting towards the
minimum (``minimum_spend[spend_scope]=all_charges``); thresholds and credits
during the period, then the true-up at the end, count nothing twice. Each invoice
equals the preview taken just before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from billing.models import Invoice, Subscription
from billing.services import (
    invoice_preview,
    invoices_finalize_due,
    subscription_cancel,
    subscription_create,
    subscription_invoice_threshold,
    subscription_update,
    subscriptions_close_due,
)
from billing.services.commitments import commitment_create
from credits.services import credit_grant_create
from tests.billing.factories import CustomerFactory, PriceFactory, record_usage
from tests.billing.test_preview_equals_invoice import issued, previewed

pytestmark = pytest.mark.django_db

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
GRACE_PASSED = timedelta(hours=2)
MINIMUM = 10_000  # $100.00 a month; April has 30 days


def d(month, day):
    return datetime(2026, month, day, tzinfo=UTC)


def fresh(sub: Subscription) -> Subscription:
    return Subscription.objects.select_related("customer").get(pk=sub.pk)


def subscribe(*, now=APR1, licensed: int | None = None, **params):
    """Tokens at 10 cents each (and a licensed fee of ``licensed`` a month)."""
    price = PriceFactory(metered=True, unit_amount_decimal=Decimal(10))
    items = [{"price": price.pk}]
    if licensed is not None:
        items.append({"price": PriceFactory(unit_amount_decimal=licensed).pk})
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer, params={"items": items, **params}, now=now
    )
    return sub, customer, price.recurring_meter


def commit(sub, *, now=APR1, term=None, **settings):
    params = {
        "type": "minimum_spend",
        "subscription": sub.pk,
        "amount": MINIMUM,
        "currency": "usd",
    }
    if term:
        params["term"] = term
    if settings:
        params["minimum_spend"] = settings
    return commitment_create(params=params, now=now)


def true_ups(invoice: Invoice) -> list[int]:
    return list(invoice.lines.filter(kind="true_up").values_list("amount", flat=True))


def cancel_now(sub, at, *, prorate=True):
    """Cancel at ``at`` with a final invoice; the preview taken just before it."""
    details = {
        "cancel_now": True,
        "proration_behavior": "create_prorations" if prorate else "none",
    }
    before = previewed(
        invoice_preview(customer=None, subscription=fresh(sub), now=at, details=details)
    )
    subscription_cancel(
        subscription=fresh(sub), invoice_now=True, prorate=prorate, now=at
    )
    invoices_finalize_due(now=at + GRACE_PASSED)
    final = Invoice.objects.get(subscription=sub, billing_reason="subscription_update")
    assert final.status != Invoice.Status.DRAFT
    return before, final


def close_april(sub):
    before = previewed(
        invoice_preview(customer=None, subscription=fresh(sub), now=MAY1 - GRACE_PASSED)
    )
    subscriptions_close_due(now=MAY1)
    invoices_finalize_due(now=MAY1 + GRACE_PASSED)
    cycle = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
    return before, cycle


# ---- cancellation mid-period --------------------------------------------------------


@pytest.mark.parametrize(
    ("proration", "true_up"),
    [
        # Cancelled on Apr 16: 15 of April's 30 days owe $50.00; $20.00 used.
        ("first_and_last", 3_000),
        ("last", 3_000),
        # The last period is not prorated: the whole $100.00 is owed.
        ("first", 8_000),
        ("none", 8_000),
    ],
)
def test_cancellation_mid_period_owes_the_prorated_minimum(proration, true_up):
    sub, customer, meter = subscribe()
    commit(sub, proration=proration)
    record_usage(meter=meter, customer=customer, value=200, at=d(4, 10))
    before, final = cancel_now(sub, d(4, 16))
    assert before == issued(final)
    assert true_ups(final) == [true_up]
    assert final.total == 2_000 + true_up
    line = final.lines.get(kind="true_up")
    assert line.proration is (proration in ("first_and_last", "last"))
    if line.proration:
        assert (line.period_start, line.period_end) == (APR1, d(4, 16))


def test_cancellation_without_usage_still_bills_the_prorated_minimum():
    # A subscription with only a licensed fee, cancelled without prorations: no
    # usage line and no pending item, yet the minimum's share is owed.
    sub, _customer, _meter = subscribe(licensed=6_000)
    commit(sub)
    sub.items.filter(price__recurring_usage_type="metered").delete()
    before, final = cancel_now(sub, d(4, 11), prorate=False)
    assert before == issued(final)
    # 10 of 30 days: $33.333… → $33.33.
    assert true_ups(final) == [3_333]
    assert final.total == 3_333


def test_cancel_at_mid_period_reached_by_the_period_close():
    sub, customer, meter = subscribe()
    commit(sub)
    subscription_update(
        subscription=fresh(sub), params={"cancel_at": d(4, 21)}, now=APR1
    )
    record_usage(meter=meter, customer=customer, value=100, at=d(4, 5))
    before = previewed(
        invoice_preview(customer=None, subscription=fresh(sub), now=d(4, 20))
    )
    subscriptions_close_due(now=d(4, 21))
    invoices_finalize_due(now=d(4, 21) + GRACE_PASSED)
    final = Invoice.objects.get(subscription=sub, billing_reason="subscription_update")
    assert before == issued(final)
    # 20 of 30 days: $66.666… → $66.67, less $10.00 of usage.
    assert true_ups(final) == [5_667]
    assert fresh(sub).status == "canceled"


def test_cancellation_after_a_threshold_invoice_counts_it_once():
    sub, customer, meter = subscribe(billing_thresholds={"amount_gte": 4_000})
    commit(sub)
    record_usage(meter=meter, customer=customer, value=400, at=d(4, 5))
    threshold = subscription_invoice_threshold(
        subscription=fresh(sub), now=d(4, 6), reason={"amount_gte": 4_000}
    )
    assert (threshold.total, true_ups(threshold)) == (4_000, [])
    record_usage(meter=meter, customer=customer, value=50, at=d(4, 10))
    before, final = cancel_now(sub, d(4, 16))
    assert before == issued(final)
    # Owed $50.00 for half of April; spent $40.00 + $5.00.
    assert true_ups(final) == [500]
    assert final.total == 1_000


def test_cancellation_credits_pay_usage_not_the_true_up():
    sub, customer, meter = subscribe()
    commit(sub)
    credit_grant_create(
        customer=customer,
        value=1_500,
        currency="usd",
        category="promotional",
        now=APR1,
        name="Welcome",
    )
    record_usage(meter=meter, customer=customer, value=200, at=d(4, 10))
    before, final = cancel_now(sub, d(4, 16))
    assert before == issued(final)
    assert true_ups(final) == [3_000]
    # $20.00 of usage, $15.00 of it paid by credits; the $30.00 true-up is not.
    assert final.subtotal == 5_000
    assert (final.total, final.amount_due) == (3_500, 3_500)


# ---- periods starting mid-cycle -----------------------------------------------------


@pytest.mark.parametrize(
    ("proration", "true_up"),
    [("first_and_last", 4_000), ("first", 4_000), ("last", 9_000), ("none", 9_000)],
)
def test_a_first_period_starting_mid_cycle(proration, true_up):
    # Subscribed Apr 16, anchored on May 1: the first period is half of April.
    sub, customer, meter = subscribe(
        now=d(4, 16), billing_cycle_anchor=MAY1, proration_behavior="none"
    )
    commit(sub, now=d(4, 16), proration=proration)
    record_usage(meter=meter, customer=customer, value=100, at=d(4, 20))
    before, cycle = close_april(sub)
    assert before == issued(cycle)
    assert (cycle.period_start, cycle.period_end) == (d(4, 16), MAY1)
    assert true_ups(cycle) == [true_up]


@pytest.mark.parametrize(
    ("term", "true_up"),
    [
        # The term starts Apr 11: 20 of 30 days, $66.67.
        ({"start": d(4, 11)}, 6_667),
        # The term ends Apr 21: 20 of 30 days.
        ({"start": APR1, "end": d(4, 21)}, 6_667),
        # Both: Apr 11 to Apr 21, 10 days, $33.33.
        ({"start": d(4, 11), "end": d(4, 21)}, 3_333),
    ],
)
def test_a_term_cutting_a_period_short_owes_its_share(term, true_up):
    sub, _customer, _meter = subscribe()
    commit(sub, term=term)
    before, cycle = close_april(sub)
    assert before == issued(cycle)
    assert true_ups(cycle) == [true_up]


def test_two_terms_meeting_inside_a_period_each_owe_their_share():
    sub, _customer, _meter = subscribe()
    commit(sub, term={"start": APR1, "end": d(4, 16)})
    commitment_create(
        params={
            "type": "minimum_spend",
            "subscription": sub.pk,
            "amount": 20_000,
            "currency": "usd",
            "term": {"start": d(4, 16)},
        },
        now=APR1,
    )
    before, cycle = close_april(sub)
    assert before == issued(cycle)
    # $50.00 for the first half, $100.00 for the second half of $200.00.
    assert true_ups(cycle) == [15_000]


# ---- what counts towards the minimum ------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "true_up"), [("usage", 7_000), ("all_charges", 1_000)]
)
def test_spend_scope_decides_whether_licensed_fees_count(scope, true_up):
    # $60.00 a month in advance (billed on the first invoice for April), $30.00 of
    # April usage; the cycle invoice also bills May's fee, which counts for May.
    sub, customer, meter = subscribe(licensed=6_000)
    commit(sub, spend_scope=scope)
    record_usage(meter=meter, customer=customer, value=300, at=d(4, 10))
    before, cycle = close_april(sub)
    assert before == issued(cycle)
    assert true_ups(cycle) == [true_up]
    assert cycle.total == 3_000 + 6_000 + true_up


def test_all_charges_at_cancellation_net_the_unused_time_credit():
    sub, customer, meter = subscribe(licensed=6_000)
    commit(sub, spend_scope="all_charges")
    record_usage(meter=meter, customer=customer, value=200, at=d(4, 10))
    before, final = cancel_now(sub, d(4, 16))
    assert before == issued(final)
    # Owed $50.00; spent $60.00 fee - $30.00 unused time + $20.00 usage = $50.00.
    assert true_ups(final) == []
    assert final.total == 2_000 - 3_000


def test_all_charges_count_a_seat_change_proration():
    sub, customer, meter = subscribe(licensed=6_000)
    commit(sub, spend_scope="all_charges")
    seat = fresh(sub).items.get(price__recurring_usage_type="licensed")
    # Two seats from Apr 16: $30.00 more for the half month, pending.
    subscription_update(
        subscription=fresh(sub),
        params={"items": [{"id": seat.pk, "quantity": 2}]},
        now=d(4, 16),
    )
    before, cycle = close_april(sub)
    assert before == issued(cycle)
    # $60.00 + $30.00 proration counted; $10.00 short.
    assert true_ups(cycle) == [1_000]
    assert cycle.total == 3_000 + 12_000 + 1_000


def test_a_trial_owes_no_minimum():
    # A 14-day trial is its own period; the paid period after it owes it all.
    sub, customer, meter = subscribe(trial_period_days=14)
    commit(sub)
    record_usage(meter=meter, customer=customer, value=100, at=d(4, 5))
    subscriptions_close_due(now=d(4, 15))
    invoices_finalize_due(now=d(4, 15) + GRACE_PASSED)
    # The trial's usage is free: nothing is invoiced for it, no true-up either.
    assert not Invoice.objects.filter(subscription=sub, lines__kind="true_up").exists()
    before = previewed(
        invoice_preview(
            customer=None, subscription=fresh(sub), now=d(5, 15) - GRACE_PASSED
        )
    )
    subscriptions_close_due(now=d(5, 15))
    invoices_finalize_due(now=d(5, 15) + GRACE_PASSED)
    paid = Invoice.objects.get(
        subscription=sub, billing_reason="subscription_cycle", period_start=d(4, 15)
    )
    assert before == issued(paid)
    assert true_ups(paid) == [MINIMUM]


def test_cancelling_in_a_trial_makes_no_true_up():
    sub, _customer, _meter = subscribe(trial_period_days=14)
    commit(sub)
    subscription_cancel(subscription=fresh(sub), invoice_now=True, now=d(4, 10))
    invoices_finalize_due(now=d(4, 10) + GRACE_PASSED)
    assert not Invoice.objects.filter(subscription=sub, lines__kind="true_up").exists()
