"""Real-time credit burndown: the balance after the usage not yet invoiced, taken
just before a period ends, is the balance the period's invoice leaves (hypothesis)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.services import (
    invoices_finalize_due,
    subscription_create,
    subscriptions_close_due,
)
from credits.selectors import credit_balance_summary
from credits.services import credit_grant_create
from tests.billing.factories import CustomerFactory, hypernian, record_usage

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)

pytestmark = pytest.mark.django_db


def _balance(customer, now):
    (balance,) = credit_balance_summary(customer_id=customer.pk, now=now)
    return balance


def _grant(customer, value, priority, now):
    credit_grant_create(
        customer=customer, value=value, currency="usd", priority=priority, now=now
    )


def test_the_summary_shows_the_balance_after_usage_not_invoiced():
    flat, overage = hypernian()
    customer = CustomerFactory()
    subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
        now=APR1,
    )
    _grant(customer, 3000, 10, APR1)
    record_usage(
        meter=overage.recurring_meter,
        customer=customer,
        value=120_000,
        at=APR1 + 3 * 24 * HOUR,
    )
    balance = _balance(customer, APR1 + 10 * 24 * HOUR)
    assert (balance.ledger, balance.available) == (3000, 3000)
    assert balance.after_unbilled_usage == 3000 - 2000


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    grants=st.lists(
        st.tuples(st.integers(1, 9000), st.integers(0, 5)), min_size=1, max_size=3
    ),
    usage=st.lists(st.tuples(st.integers(1, 29), st.integers(0, 90_000)), max_size=4),
)
def test_burndown_at_period_end_equals_what_the_invoice_applies(grants, usage):
    with transaction.atomic():
        flat, overage = hypernian()
        customer = CustomerFactory()
        subscription_create(
            customer=customer,
            params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
            now=APR1,
        )
        for value, priority in grants:
            _grant(customer, value, priority, APR1)
        for day, value in usage:
            at = APR1 + timedelta(days=day)
            record_usage(
                meter=overage.recurring_meter, customer=customer, value=value, at=at
            )
        projected = _balance(customer, MAY1 - HOUR).after_unbilled_usage
        subscriptions_close_due(now=MAY1)
        invoices_finalize_due(now=MAY1 + 2 * HOUR)
        assert _balance(customer, MAY1 + 2 * HOUR).available == projected
        transaction.set_rollback(True)
