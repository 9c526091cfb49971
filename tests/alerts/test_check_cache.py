"""The check endpoint answers a recent snapshot without a query, and never a stale one
for longer than ``TALLY_CHECK_CACHE_SECONDS`` (its own writes show at once)."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from alerts.models import CustomerAccess
from alerts.services.limits import customer_access_get, limits_evaluate
from tests.alerts.factories import report
from tests.alerts.limits_helpers import (
    checked_customer,
    checked_usage,
    d,
    make_plan,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan():
    return make_plan()


@pytest.fixture
def customer(plan):
    return checked_customer(plan, "CACHE")


def test_a_second_check_within_the_window_reads_nothing(customer):
    assert checked_usage(customer) == 40
    with CaptureQueriesContext(connection) as queries:
        assert checked_usage(customer) == 40
    assert len(queries) == 0


def test_this_process_s_own_rewrite_shows_at_once(customer, plan):
    assert checked_usage(customer) == 40
    report(meter=plan.meter, customer=customer, value=2, now=d(4, 3, 3))
    limits_evaluate(now=d(4, 3, 4), customer_ids=[customer.pk])
    assert checked_usage(customer) == 42


@override_settings(TALLY_CHECK_CACHE_SECONDS=0.05)
def test_another_process_s_rewrite_shows_within_the_window(customer):
    assert checked_usage(customer) == 40
    # As a worker process would: the row changes, this process is not told.
    row = CustomerAccess.objects.get(customer=customer)
    body = {**row.body, "usage": [{**row.body["usage"][0], "value": 41}]}
    CustomerAccess.objects.filter(pk=row.pk).update(body=body)
    assert checked_usage(customer) == 40  # still the snapshot read a moment ago
    time.sleep(0.06)
    assert checked_usage(customer) == 41


@override_settings(TALLY_CHECK_CACHE_SECONDS=0)
def test_zero_turns_the_cache_off(customer):
    assert checked_usage(customer) == 40
    with CaptureQueriesContext(connection) as queries:
        assert checked_usage(customer) == 40
    assert len(queries) == 1


def test_modes_do_not_share_an_entry(customer):
    assert checked_usage(customer) == 40
    assert (
        customer_access_get(customer_id=customer.pk, livemode=True, now=d(4, 3, 2))
        is None
    )
