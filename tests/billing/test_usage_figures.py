"""Every usage figure agrees: the customer page, the subscription page, the meter
page, the upcoming invoice and the check endpoint read one selector
(``billing.selectors.customer_usage_so_far``) and count the same events, for a
customer on a test clock whose usage was sent "now" (stamped at the clock's very
moment, which a ``[start, now)`` read used to leave out)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from billing.selectors import customer_usage_so_far, month_of
from billing.services import subscription_create
from tests.billing.factories import (
    CustomerFactory,
    MeterFactory,
    TestClockFactory,
    hypernian,
)

pytestmark = pytest.mark.django_db
APR1 = datetime(2026, 4, 1, tzinfo=UTC)
USAGE = 12_000


def _figures(html: str, marker: str) -> list[Decimal]:
    """The ``data-usage`` figures after ``marker`` in a page ("12,000 tokens")."""
    section = html.split(marker, 1)[1]
    return [
        Decimal(text.split()[0].replace(",", ""))
        for text in re.findall(r"data-usage>([^<]+)<", section)
    ]


@pytest.fixture
def clocked(api):
    """A Hypernian subscriber on a clock at Apr 1, 12,000 tokens sent "now"."""
    customer = CustomerFactory(
        name="Clocked", test_clock=TestClockFactory(frozen_time=APR1)
    )
    meter = MeterFactory(event_name="hypernian_api_tokens")
    flat, overage = hypernian(meter=meter)
    subscription = subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
        now=APR1,
    )
    sent = api.post(
        "/v1/billing/meter_events",
        {
            "event_name": meter.event_name,
            "payload": {"stripe_customer_id": customer.pk, "value": str(USAGE)},
        },
    )
    assert sent.status_code == 200, sent.content
    assert sent.json()["timestamp"] == int(APR1.timestamp())
    return customer, meter, subscription


def test_every_page_shows_the_same_figure(admin_client, api, clocked):
    customer, meter, subscription = clocked
    rows = customer_usage_so_far(customer=customer, now=APR1)
    assert [(row.meter.pk, row.usage) for row in rows if row.item] == [
        (meter.pk, USAGE)
    ]

    page = admin_client.get(
        reverse("admin:billing_subscription_change", args=[quote(subscription.pk)])
    ).content.decode()
    assert _figures(page, 'id="usage"')[0] == USAGE

    page = admin_client.get(
        reverse("admin:core_customer_change", args=[quote(customer.pk)])
    ).content.decode()
    assert "Usage this period" in page
    assert _figures(page, f'data-meter="{meter.pk}"')[0] == USAGE
    assert "test clock" in page

    url = reverse("admin:metering_meter_change", args=[quote(meter.pk)])
    page = admin_client.get(url, {"customer": customer.pk}).content.decode()
    assert _figures(page, "data-period-usage")[0] == USAGE
    assert "billing period Apr 1 – May 1, 2026" in page
    # The chart's days end at the customer's today, so they hold the event too.
    assert "(the days charted): <strong>12,000</strong>" in page

    preview = api.post(
        "/v1/invoices/create_preview", {"subscription": subscription.pk}
    ).json()
    assert [
        Decimal(line["quantity"])
        for line in preview["lines"]["data"]
        if "tokens" in line["description"]
    ] == [USAGE]

    check = api.get("/v1/entitlements/check", {"customer": customer.pk}).json()
    assert [row["value"] for row in check["usage"]] == [USAGE]


def test_a_meter_no_subscription_bills_counts_the_calendar_month(admin_client, api):
    customer = CustomerFactory(test_clock=TestClockFactory(frozen_time=APR1))
    meter = MeterFactory(event_name="images")
    api.post(
        "/v1/billing/meter_events",
        {
            "event_name": "images",
            "payload": {"stripe_customer_id": customer.pk, "value": "7"},
        },
    )
    [row] = customer_usage_so_far(customer=customer, now=APR1)
    assert (row.meter, row.item, row.usage) == (meter, None, 7)
    assert (row.start, row.end) == (APR1, datetime(2026, 5, 1, tzinfo=UTC))
    page = admin_client.get(
        reverse("admin:core_customer_change", args=[quote(customer.pk)])
    ).content.decode()
    assert _figures(page, f'data-meter="{meter.pk}"') == [7]
    assert "No subscription: this calendar month" in page


def test_an_ended_subscription_counts_no_more(api, clocked):
    customer, meter, subscription = clocked
    api.delete(f"/v1/subscriptions/{subscription.pk}")
    [row] = customer_usage_so_far(customer=customer, now=APR1)
    assert row.item is None  # the meter is billed by nothing now: the month's usage
    assert row.usage == USAGE


@pytest.mark.parametrize(
    ("moment", "start", "end"),
    [
        (datetime(2026, 4, 1, tzinfo=UTC), (2026, 4, 1), (2026, 5, 1)),
        (datetime(2026, 4, 30, 23, 59, 59, tzinfo=UTC), (2026, 4, 1), (2026, 5, 1)),
        (datetime(2026, 12, 31, 12, tzinfo=UTC), (2026, 12, 1), (2027, 1, 1)),
        (datetime(2027, 1, 15, tzinfo=UTC), (2027, 1, 1), (2027, 2, 1)),
    ],
)
def test_month_of(moment, start, end):
    assert month_of(moment) == (
        datetime(*start, tzinfo=UTC),
        datetime(*end, tzinfo=UTC),
    )


def test_the_panel_leaves_last_month_out_and_links_the_meter(rf, api):
    from billing.usage_panel import customer_panel
    from core.dashboard import customer_panels
    from tests.billing.factories import record_usage

    customer = CustomerFactory(test_clock=TestClockFactory(frozen_time=APR1))
    meter = MeterFactory(display_name="Input tokens")
    record_usage(meter=meter, customer=customer, value=1234, at=APR1)
    record_usage(
        meter=meter, customer=customer, value=5, at=datetime(2026, 3, 31, tzinfo=UTC)
    )
    html = customer_panel(customer, rf.get("/"))
    assert "Input tokens" in html
    assert _figures(html, f'data-meter="{meter.pk}"') == [1234]
    assert f"?customer={customer.pk}" in html
    assert "Usage this period" in {panel.title for panel in customer_panels()}
