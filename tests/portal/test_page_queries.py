"""The customer's overview and the staff customer page read each kind of data a
fixed number of times: more meters, invoices or grants add no query (no N+1)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.services import invoice_finalize_manual
from credits.services import credit_grant_create
from metering.models import Meter
from tests.billing.factories import MeterFactory, record_usage
from tests.portal import test_customer_pages as pages
from tests.portal.test_customer_pages import APR1, APR25, _link, _one_off

# The customer on a test clock and seed 003's subscription of those tests.
customer = pages.customer
subscribed = pages.subscribed

pytestmark = pytest.mark.django_db

# Ceilings of today's pages; the point is they do not grow with the rows.
OVERVIEW_QUERIES = 36
STAFF_CUSTOMER_QUERIES = 43


def _grow(customer, count: int, *, first: int = 0) -> None:
    """``count`` more finalized invoices, credit grants and meters with usage."""
    for index in range(first, first + count):
        invoice_finalize_manual(invoice=_one_off(customer, APR25), now=APR25)
        credit_grant_create(
            customer=customer,
            value=1000 + index,
            currency="usd",
            name=f"Grant {index}",
            category="promotional",
            expires_at=APR25 + timedelta(days=30),
            now=APR25,
        )
        meter = MeterFactory(event_name=f"extra_{index}", display_name=f"Extra {index}")
        record_usage(meter=meter, customer=customer, value=7, at=APR1)


def _queries(client: Client, url: str) -> int:
    client.get(url)  # warm: caches of the first visit
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_overview_reads_every_meter_in_one_query(customer, subscribed):
    _grow(customer, 1)
    link = _link(customer)
    few = _queries(Client(), link)
    _grow(customer, 3, first=1)
    assert Meter.objects.count() == 5
    assert _queries(Client(), link) <= few <= OVERVIEW_QUERIES


def test_the_overview_charts_each_meter_with_its_own_total(customer, subscribed):
    _, meter = subscribed
    other = MeterFactory(event_name="images", display_name="Images")
    record_usage(meter=other, customer=customer, value=12, at=APR1 + timedelta(days=3))
    html = re.sub(r"\s+", " ", Client().get(_link(customer)).content.decode())
    assert re.search(rf'data-meter="{meter.pk}".*?data-total>150,000<', html)
    assert re.search(rf'data-meter="{other.pk}".*?data-total>12<', html)


def test_the_staff_customer_page_does_not_grow_with_rows(
    customer, subscribed, admin_client
):
    _grow(customer, 1)
    url = reverse("admin:core_customer_change", args=[customer.pk])
    few = _queries(admin_client, url)
    _grow(customer, 3, first=1)
    assert _queries(admin_client, url) <= few <= STAFF_CUSTOMER_QUERIES


def test_additive_series_of_many_meters_match_one_at_a_time(customer, subscribed):
    from metering.selectors import customer_usage_series, meter_usage_series

    _, meter = subscribed
    count = MeterFactory(event_name="calls", display_name="Calls", formula="count")
    for day in (2, 2, 9):
        record_usage(meter=count, customer=customer, value=5, at=APR1.replace(day=day))
    start, end = APR1 - timedelta(days=3), APR25 + timedelta(hours=5)
    for window in ("day", "hour"):
        together = customer_usage_series(
            meters=[meter, count],
            customer_id=customer.pk,
            start=start,
            end=end if window == "hour" else end.replace(hour=0),
            grouping_window=window,
        )
        for one in (meter, count):
            alone = meter_usage_series(
                meter=one,
                customer_id=customer.pk,
                start=start,
                end=end if window == "hour" else end.replace(hour=0),
                grouping_window=window,
            )
            assert together[one.pk] == alone
    calls = customer_usage_series(
        meters=[count],
        customer_id=customer.pk,
        start=APR1,
        end=APR25,
        grouping_window="day",
    )[count.pk]
    assert sum(value for _, value in calls) == Decimal(3)
