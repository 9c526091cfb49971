"""The raw-SQL grant check (a preview's annotation) agrees with the ORM rule."""

from datetime import timedelta

import pytest

from core.models import Customer
from credits.models import CreditGrant
from credits.selectors import (
    customers_with_grant_candidates,
    grant_candidates_exist_sql,
)
from tests.credits.factories import T0, CustomerFactory, make_grant

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)

# (status, effective_at, expires_at) around T0: the boundaries of ``_live_grants``.
CASES = [
    ("active", T0 - HOUR, None),
    ("active", T0, None),  # effective exactly now: in effect
    ("pending", T0 - HOUR, T0 + HOUR),
    ("pending", T0 + HOUR, None),  # not yet
    ("active", T0 - HOUR, T0),  # expires exactly now: gone
    ("active", T0 - HOUR, T0 + timedelta(microseconds=1)),
    ("expired", T0 - HOUR, T0 - timedelta(minutes=1)),
    ("voided", T0 - HOUR, None),
]


def test_raw_sql_agrees_with_the_orm_rule_at_every_boundary():
    customers = []
    for status, effective_at, expires_at in CASES:
        customer = CustomerFactory()
        grant = make_grant(customer, now=T0 - 2 * HOUR)
        CreditGrant.objects.filter(pk=grant.pk).update(
            status=status,
            effective_at=effective_at,
            expires_at=expires_at,
            **({"balance": 0} if status == "pending" else {}),
            **({"voided_at": T0 - HOUR} if status == "voided" else {}),
        )
        customers.append(customer.pk)
    customers.append(CustomerFactory().pk)  # no grant at all
    for now in (T0 - HOUR, T0, T0 + 2 * HOUR):
        raw = set(
            Customer.objects.filter(pk__in=customers)
            .annotate(
                has=grant_candidates_exist_sql(
                    customer_column='"core_customer"."id"', now=now
                )
            )
            .filter(has=True)
            .values_list("pk", flat=True)
        )
        assert raw == customers_with_grant_candidates(customer_ids=customers, now=now)
    assert raw  # the table exercises both answers
