"""Monetary limits: spend after credits, rated by the invoice preview, to the cent."""

from __future__ import annotations

import pytest

from alerts.models import UsageLimitCrossing
from alerts.services.limits import limits_evaluate
from alerts.services.usage_limits import usage_limit_create
from credits.services import credit_grant_create
from tests.alerts.factories import CustomerFactory, report
from tests.alerts.limits_helpers import d, features_of, make_plan, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan():
    return make_plan(unit_amount="0.5")  # half a cent a call


@pytest.fixture
def customer(plan):
    customer = CustomerFactory(invoice_prefix="MON")
    subscribe(customer, plan.price)
    return customer


@pytest.fixture
def limit(customer):
    return usage_limit_create(
        params={
            "limit_type": "monetary",
            "customer": customer.pk,
            "feature": "api",
            "monetary": {"currency": "usd", "amount_gte": 1000},
        },
        livemode=False,
        now=d(4, 2),
    )


@pytest.mark.parametrize(
    ("calls", "cut"),
    [
        (1998, False),  # 999.0 cents
        (1999, True),  # 999.5 rounds half up to 1000 cents: the level
        (2500, True),
    ],
)
def test_spend_is_compared_to_the_cent(plan, customer, limit, calls, cut):
    report(meter=plan.meter, customer=customer, value=calls, now=d(4, 3))
    assert limits_evaluate(now=d(4, 3, 1)) == int(cut)
    assert features_of(customer) == ([] if cut else ["api"])


def test_credits_that_cover_the_spend_restore_access(
    plan, customer, limit, django_capture_on_commit_callbacks
):
    report(meter=plan.meter, customer=customer, value=2100, now=d(4, 3))  # 1050
    assert limits_evaluate(now=d(4, 3, 1)) == 1
    assert features_of(customer) == []
    # 40 cents of credit leave 1010 to pay: still over.
    with django_capture_on_commit_callbacks(execute=True):
        credit_grant_create(customer=customer, value=40, currency="usd", now=d(4, 4))
    assert features_of(customer) == []
    # 11 more: 999 left to pay, under the level; the grant's event re-evaluates.
    with django_capture_on_commit_callbacks(execute=True):
        credit_grant_create(customer=customer, value=11, currency="usd", now=d(4, 4))
    assert features_of(customer) == ["api"]
    crossing = UsageLimitCrossing.objects.get()
    assert (crossing.value, crossing.lift_reason) == (1050, "credits_granted")


def test_a_price_limit_counts_that_price_and_shows_in_the_check(plan, customer):
    from alerts.services.limits import customer_access_get

    limit = usage_limit_create(
        params={
            "limit_type": "monetary",
            "price": plan.price.pk,
            "feature": "api",
            "monetary": {"currency": "usd", "amount_gte": 500},
        },
        livemode=False,
        now=d(4, 2),
    )
    report(meter=plan.meter, customer=customer, value=999, now=d(4, 3))  # 499.5
    assert limits_evaluate(now=d(4, 3, 1)) == 1
    assert features_of(customer) == []
    body = customer_access_get(
        customer_id=customer.pk, livemode=False, now=d(4, 3, 1)
    ).body
    (spend,) = body["spend"]
    assert (spend["id"], spend["amount"], spend["amount_gte"]) == (limit.pk, 500, 500)
    assert (spend["remaining"], spend["crossed"]) == (0, True)
