"""Usage limits cut a feature when reached, once, and restore it after."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.models import UsageLimitCrossing
from alerts.services import limits
from alerts.services.limits import limits_evaluate
from alerts.services.usage_limits import usage_limit_create, usage_limit_update
from alerts.tasks import limits_evaluate_task
from billing.models import Invoice
from billing.services import subscriptions_close_due
from core import clock
from metering.models import MeterEvent
from tests.alerts.factories import CustomerFactory, report
from tests.alerts.limits_helpers import (
    MAY1,
    d,
    features_of,
    make_plan,
    subscribe,
    summaries,
)
from tests.core.test_webhook_signing import endpoint_for, serving, verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan():
    return make_plan()


@pytest.fixture
def customer(plan):
    customer = CustomerFactory(invoice_prefix="LIM")
    subscribe(customer, plan.price)
    return customer


def usage_limit(customer, plan, gte=100, now=None):
    return usage_limit_create(
        params={
            "limit_type": "usage",
            "customer": customer.pk,
            "feature": "api",
            "usage": {"meter": plan.meter.pk, "gte": gte},
        },
        livemode=False,
        now=now or d(4, 2),
    )


def test_reaching_the_limit_cuts_the_feature_once_and_the_next_period_restores(
    plan, customer
):
    assert features_of(customer) == ["api"]
    assert summaries(customer) == [["api"]]
    limit = usage_limit(customer, plan)
    report(meter=plan.meter, customer=customer, value=60, now=d(4, 3))
    assert limits_evaluate(now=d(4, 3, 1)) == 0
    assert features_of(customer) == ["api"]

    report(meter=plan.meter, customer=customer, value=50, now=d(4, 4))
    assert limits_evaluate(now=d(4, 4, 1)) == 1
    assert features_of(customer) == []
    assert summaries(customer) == [["api"], []]
    crossing = UsageLimitCrossing.objects.get()
    assert (crossing.limit_id, crossing.value, crossing.level) == (limit.pk, 110, 100)
    assert (crossing.period_start, crossing.created) == (d(4, 1), d(4, 4, 1))
    # Reruns act on nothing; usage beyond the limit is kept and billed.
    assert limits_evaluate(now=d(4, 5)) == 0
    report(meter=plan.meter, customer=customer, value=30, now=d(4, 6))
    assert limits_evaluate(now=d(4, 6, 1)) == 0
    assert summaries(customer) == [["api"], []]
    assert MeterEvent.objects.count() == 3

    subscriptions_close_due(now=MAY1)
    assert features_of(customer) == ["api"]
    assert summaries(customer) == [["api"], [], ["api"]]
    crossing.refresh_from_db()
    assert crossing.lift_reason == "period_ended"
    invoice = Invoice.objects.get(billing_reason="subscription_cycle")
    assert invoice.subtotal == 140 * 100  # every unit billed, 1.00 each


def test_raising_the_limit_restores_access_and_a_new_crossing_cuts_again(
    plan, customer
):
    limit = usage_limit(customer, plan)
    report(meter=plan.meter, customer=customer, value=120, now=d(4, 3))
    assert limits_evaluate(now=d(4, 3, 1)) == 1
    assert features_of(customer) == []

    usage_limit_update(limit=limit, params={"usage": {"gte": 200}}, now=d(4, 4))
    assert features_of(customer) == ["api"]
    first = UsageLimitCrossing.objects.get()
    assert first.lift_reason == "limit_raised"

    report(meter=plan.meter, customer=customer, value=80, now=d(4, 5))
    assert limits_evaluate(now=d(4, 5, 1)) == 1
    assert features_of(customer) == []
    second = UsageLimitCrossing.objects.get(lifted_at__isnull=True)
    assert (second.sequence, second.value, second.level) == (2, 200, 200)
    assert summaries(customer) == [["api"], [], ["api"], []]


def test_a_limit_on_a_price_applies_to_each_subscriber(plan, customer):
    other = CustomerFactory(invoice_prefix="OTH")
    subscribe(other, plan.price)
    usage_limit_create(
        params={
            "limit_type": "usage",
            "price": plan.price.pk,
            "feature": plan.feature.pk,
            "usage": {"gte": 10},
        },
        livemode=False,
        now=d(4, 2),
    )
    report(meter=plan.meter, customer=other, value=10, now=d(4, 3))
    report(meter=plan.meter, customer=customer, value=9, now=d(4, 3))
    assert limits_evaluate(now=d(4, 3, 1)) == 1
    assert (features_of(customer), features_of(other)) == (["api"], [])


def test_the_ingestion_trigger_evaluates_only_the_customers_it_names(plan, customer):
    usage_limit(customer, plan)
    report(meter=plan.meter, customer=customer, value=100, now=d(4, 3))
    other = CustomerFactory(invoice_prefix="NOP")
    assert limits_evaluate(now=d(4, 3, 1), customer_ids=[other.pk]) == 0
    assert features_of(customer) == ["api"]
    assert limits_evaluate(now=d(4, 3, 1), customer_ids=[customer.pk]) == 1
    assert features_of(customer) == []


def test_deactivating_the_limit_restores_access(plan, customer):
    from alerts.services.usage_limits import usage_limit_set_status

    limit = usage_limit(customer, plan)
    report(meter=plan.meter, customer=customer, value=100, now=d(4, 3))
    limits_evaluate(now=d(4, 3, 1))
    usage_limit_set_status(limit=limit, active=False, now=d(4, 4))
    assert features_of(customer) == ["api"]
    assert UsageLimitCrossing.objects.get().lift_reason == "limit_deactivated"


def test_the_beat_task_reads_the_clock_and_cuts_once(
    django_capture_on_commit_callbacks,
):
    now = clock.now()
    plan = make_plan()
    customer = CustomerFactory(invoice_prefix="BEAT")
    subscribe(customer, plan.price, now=now - timedelta(hours=1))
    usage_limit(customer, plan, now=now)
    report(
        meter=plan.meter, customer=customer, value=100, now=now - timedelta(minutes=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert limits_evaluate_task.delay().get() == 1
        assert limits_evaluate_task.delay().get() == 0
    assert features_of(customer) == []


@pytest.fixture
def receiver():
    yield from serving()


def test_the_cut_reaches_webhooks_as_a_signed_summary_event(
    plan, customer, receiver, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(
        receiver.url, events=["entitlements.active_entitlement_summary.updated"]
    )
    usage_limit(customer, plan)
    report(meter=plan.meter, customer=customer, value=100, now=d(4, 3))
    with django_capture_on_commit_callbacks(execute=True):
        assert limits_evaluate(now=d(4, 3, 1)) == 1
    (received,) = receiver.received
    event = verified(received, endpoint.secret)
    assert event.type == "entitlements.active_entitlement_summary.updated"
    summary = event.data.object
    assert (summary.customer, summary.entitlements.data) == (customer.pk, [])


def test_a_figure_read_before_another_worker_cut_does_not_lift_the_cut(
    plan, customer, monkeypatch
):
    """A worker reads its figures before it takes the customer's lock; another
    worker may cut in between on usage the first did not see yet. The first must
    not take that older, lower figure for a correction and restore access."""
    usage_limit(customer, plan)
    report(meter=plan.meter, customer=customer, value=90, now=d(4, 3))
    read = limits.evaluate_periods
    raced = []

    def read_then_race(periods, now):
        figures = read(periods, now)  # 90: below the level
        if not raced:
            raced.append(True)
            # Meanwhile: 20 more arrive and another worker cuts on 110.
            report(meter=plan.meter, customer=customer, value=20, now=d(4, 3, 1))
            assert limits_evaluate(now=d(4, 3, 2), customer_ids=[customer.pk]) == 1
        return figures

    monkeypatch.setattr(limits, "evaluate_periods", read_then_race)
    assert limits_evaluate(now=d(4, 3, 2), customer_ids=[customer.pk]) == 0

    crossing = UsageLimitCrossing.objects.get()
    assert (crossing.value, crossing.lifted_at) == (110, None)
    assert features_of(customer) == []
    assert summaries(customer) == [["api"], []]
