"""Usage limits on the formulas beyond Stripe, at period and window boundaries:
distinct users, the largest value, and GB-hours (which reach a limit with time
alone, found by the minutely evaluation); the next period starts afresh."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from alerts.models import UsageLimitCrossing
from alerts.services.limits import limits_evaluate
from alerts.services.usage_limits import usage_limit_create
from billing.services import subscriptions_close_due
from catalog.models import Feature
from catalog.services import product_feature_create
from metering.services import meter_create, meter_event_create
from tests.alerts.factories import CustomerFactory, PriceFactory
from tests.alerts.limits_helpers import APR1, MAY1, d, features_of, subscribe

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def limited(formula, gte, **extra):
    """A customer on a metered price of a ``formula`` meter, limited at ``gte``."""
    meter = meter_create(
        display_name=formula,
        event_name=formula,
        formula=formula,
        now=APR1,
        livemode=False,
        **extra,
    )
    price = PriceFactory(
        unit_amount_decimal=Decimal(1),
        recurring_usage_type="metered",
        recurring_meter=meter,
    )
    feature = Feature.objects.create(name="API", lookup_key="api", livemode=False)
    product_feature_create(product=price.product, feature_id=feature.pk, livemode=False)
    customer = CustomerFactory()
    subscribe(customer, price)
    usage_limit_create(
        params={
            "limit_type": "usage",
            "customer": customer.pk,
            "feature": "api",
            "usage": {"meter": meter.pk, "gte": gte},
        },
        livemode=False,
        now=APR1,
    )
    return meter, customer


def send(meter, customer, value, at, **dimensions):
    meter_event_create(
        event_name=meter.event_name,
        payload={"stripe_customer_id": customer.pk, "value": str(value), **dimensions},
        identifier=uuid.uuid4().hex,
        timestamp=at,
        now=at,
    )


def crossing_value():
    return UsageLimitCrossing.objects.get(lifted_at__isnull=True).value


def test_a_limit_on_distinct_users_and_the_next_period():
    meter, customer = limited(
        "unique_count", 3, dimension_payload_keys=["user"], unique_payload_key="user"
    )
    for user in ("ann", "bob", "ann"):
        send(meter, customer, 1, d(4, 3), user=user)
    assert limits_evaluate(now=d(4, 3, 1)) == 0
    assert features_of(customer) == ["api"]
    send(meter, customer, 1, d(4, 5), user="cy")
    assert limits_evaluate(now=d(4, 5, 1)) == 1
    assert (features_of(customer), crossing_value()) == ([], 3)
    subscriptions_close_due(now=MAY1)
    assert features_of(customer) == ["api"]
    # May counts afresh: ann (at the boundary) and bob are two of three.
    send(meter, customer, 1, MAY1, user="ann")
    send(meter, customer, 1, d(5, 2), user="bob")
    assert limits_evaluate(now=d(5, 2, 1)) == 0
    assert features_of(customer) == ["api"]


def test_a_limit_on_the_largest_value():
    meter, customer = limited("max", 10)
    send(meter, customer, 4, d(4, 3))
    send(meter, customer, 9, d(4, 4))
    assert limits_evaluate(now=d(4, 4, 1)) == 0
    send(meter, customer, 3, d(4, 5))
    assert limits_evaluate(now=d(4, 5, 1)) == 0
    send(meter, customer, 10, d(4, 6))  # reaching the level is enough
    assert limits_evaluate(now=d(4, 6, 1)) == 1
    assert (features_of(customer), crossing_value()) == ([], 10)


def test_a_limit_on_gb_hours_is_reached_with_time_alone():
    meter, customer = limited("time_weighted_sum", 100)
    send(meter, customer, 10, d(4, 2))
    # The minutely run (every real-time customer with limits) finds it.
    assert limits_evaluate(now=d(4, 2, 9)) == 0
    assert features_of(customer) == ["api"]
    assert limits_evaluate(now=d(4, 2, 10)) == 1
    assert (features_of(customer), crossing_value()) == ([], 100)
    # The close refreshes access at the clock's time (here, the real one).
    with time_machine.travel(MAY1, tick=False):
        subscriptions_close_due(now=MAY1)
    assert features_of(customer) == ["api"]
    # May: the 10 GB still held count from the boundary, 100 GB-hours at 10:00.
    assert limits_evaluate(now=MAY1 + 9 * HOUR) == 0
    assert limits_evaluate(now=MAY1 + 10 * HOUR) == 1
    assert features_of(customer) == []
