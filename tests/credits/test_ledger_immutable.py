"""The credit ledger is append-only in the database (credits migration 0003):
no transaction is updated or deleted, except with its customer's test clock."""

import pytest
from django.db import IntegrityError, transaction

from core.models import TestClock
from credits.models import CreditBalanceTransaction, CreditGrant
from tests.credits.factories import CustomerFactory, TestClockFactory, make_grant


@pytest.fixture
def entry(db) -> CreditBalanceTransaction:
    grant = make_grant(CustomerFactory(), 1000)
    return CreditBalanceTransaction.objects.get(credit_grant=grant)


@pytest.mark.parametrize(
    "change",
    [{"amount": 1}, {"type": "debit"}, {"invoice": "in_x"}, {"currency": "eur"}],
)
def test_the_database_refuses_to_change_a_ledger_entry(entry, change):
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditBalanceTransaction.objects.filter(pk=entry.pk).update(**change)


def test_the_database_refuses_to_delete_a_ledger_entry(entry):
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditBalanceTransaction.objects.filter(pk=entry.pk).delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditGrant.objects.filter(pk=entry.credit_grant_id).delete()
    assert CreditBalanceTransaction.objects.filter(pk=entry.pk).exists()


def test_a_test_clock_takes_its_simulated_ledger_with_it(db):
    clock = TestClockFactory()
    make_grant(CustomerFactory(test_clock=clock), 1000)
    assert CreditBalanceTransaction.objects.count() == 1
    TestClock.objects.filter(pk=clock.pk).delete()
    assert CreditBalanceTransaction.objects.count() == 0
