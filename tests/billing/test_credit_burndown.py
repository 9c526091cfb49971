"""Real-time credit burndown: the balance after the usage not yet invoiced, taken
just before a period ends, is the balance the period's invoice leaves (hypothesis
over grants with priorities and price scopes, prices and events)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

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
from tests.billing.factories import (
    CustomerFactory,
    MeterFactory,
    PriceFactory,
    hypernian,
    record_usage,
    tiered_price,
)

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


# A second metered price on its own meter: per unit (sub-cent amounts included)
# or volume tiers, so the rounding of each line is exercised.
second_prices = st.one_of(
    st.builds(
        lambda unit: ("per_unit", unit),
        st.sampled_from(["0.0333", "0.5", "1", "7", "12.5"]),
    ),
    st.builds(
        lambda first, then, flat: ("volume", (first, then, flat)),
        st.sampled_from(["0.2", "1", "3"]),
        st.sampled_from(["0.05", "0.5"]),
        st.sampled_from(["0", "250"]),
    ),
)


def _second_price(kind, terms):
    meter = MeterFactory(event_name="hypernian_images")
    metered = {"recurring_usage_type": "metered", "recurring_meter": meter}
    if kind == "per_unit":
        return PriceFactory(unit_amount_decimal=Decimal(terms), **metered)
    first, then, flat = terms
    return tiered_price(
        mode="volume", tiers=[(1_000, first, flat), (None, then, "0")], **metered
    )


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    second=second_prices,
    grants=st.lists(
        st.tuples(
            st.integers(1, 9000),
            st.integers(0, 5),
            st.sampled_from(["all", "overage", "second"]),
        ),
        min_size=1,
        max_size=3,
    ),
    usage=st.lists(
        st.tuples(st.integers(1, 29), st.integers(0, 90_000), st.booleans()),
        max_size=5,
    ),
)
def test_burndown_at_period_end_equals_what_the_invoice_applies(second, grants, usage):
    with transaction.atomic():
        flat, overage = hypernian()
        other = _second_price(*second)
        customer = CustomerFactory()
        subscription_create(
            customer=customer,
            params={
                "items": [
                    {"price": flat.pk},
                    {"price": overage.pk},
                    {"price": other.pk},
                ]
            },
            now=APR1,
        )
        scopes = {"all": None, "overage": [overage.pk], "second": [other.pk]}
        for value, priority, scope in grants:
            credit_grant_create(
                customer=customer,
                value=value,
                currency="usd",
                priority=priority,
                prices=scopes[scope],
                now=APR1,
            )
        for day, value, on_second in usage:
            price = other if on_second else overage
            record_usage(
                meter=price.recurring_meter,
                customer=customer,
                value=value,
                at=APR1 + timedelta(days=day),
            )
        projected = _balance(customer, MAY1 - HOUR).after_unbilled_usage
        subscriptions_close_due(now=MAY1)
        invoices_finalize_due(now=MAY1 + 2 * HOUR)
        assert _balance(customer, MAY1 + 2 * HOUR).available == projected
        transaction.set_rollback(True)
