"""Usage limits on a test clock: evaluated at the clock's time, as live ones."""

from __future__ import annotations

import pytest

from alerts.models import UsageLimitCrossing
from alerts.services.limits import limits_evaluate
from alerts.services.usage_limits import usage_limit_create
from core.services import test_clocks
from tests.alerts.factories import CustomerFactory, TestClockFactory, report
from tests.alerts.limits_helpers import APR1, d, features_of, make_plan, subscribe
from tests.billing.factories import record_usage

pytestmark = pytest.mark.django_db


@pytest.fixture
def advance(django_capture_on_commit_callbacks):
    def call(clock, frozen_time):
        with django_capture_on_commit_callbacks(execute=True):
            test_clocks.test_clock_advance(test_clock=clock, frozen_time=frozen_time)
        clock.refresh_from_db()
        assert clock.status == "ready", clock.failure_message

    return call


def test_a_crossing_on_a_clock_cuts_then_the_next_period_restores(advance):
    clock = TestClockFactory(frozen_time=APR1)
    customer = CustomerFactory(test_clock=clock, invoice_prefix="CLK")
    plan = make_plan()
    subscribe(customer, plan.price, now=APR1)
    usage_limit_create(
        params={
            "limit_type": "usage",
            "customer": customer.pk,
            "feature": "api",
            "usage": {"meter": plan.meter.pk, "gte": 100},
        },
        livemode=False,
        now=APR1,
    )
    report(meter=plan.meter, customer=customer, value=60, now=APR1)
    record_usage(meter=plan.meter, customer=customer, value=50, at=d(4, 10))
    # Real time leaves the clock's customers alone.
    assert limits_evaluate(now=d(12, 1)) == 0
    assert features_of(customer) == ["api"]

    advance(clock, d(4, 20))
    crossing = UsageLimitCrossing.objects.get()
    # One second after the event that crossed, on the clock's time.
    assert (crossing.created, crossing.value) == (d(4, 10, second=1), 110)
    assert features_of(customer) == []

    advance(clock, d(5, 2))
    crossing.refresh_from_db()
    assert (crossing.lift_reason, crossing.lifted_at) == ("period_ended", d(5, 1))
    assert features_of(customer) == ["api"]
