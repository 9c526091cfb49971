"""Meter pages in the staff dashboard: list, create, detail with chart, actions."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.admin.utils import quote
from django.urls import reverse

from core.models import Event
from metering import selectors, services, views
from metering.charts import bar_chart
from metering.models import Meter, MeterEvent, MeterEventAdjustment
from tests.metering.factories import CustomerFactory, MeterFactory

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def staff(client, django_user_model):
    django_user_model.objects.create_superuser(
        "staff", "staff@example.com", "pw-123-xyz"
    )
    client.login(username="staff", password="pw-123-xyz")
    return client


def record(meter, customer, value, at):
    services.meter_event_create(
        event_name=meter.event_name,
        payload={"stripe_customer_id": customer.id, "value": str(value)},
        timestamp=at,
        now=NOW,
    )


def test_list_shows_meters_with_status(staff, db):
    MeterFactory(display_name="Input tokens")
    MeterFactory(display_name="Old meter", status=Meter.Status.INACTIVE)
    page = staff.get(reverse("admin:metering_meter_changelist")).content.decode()
    assert "Input tokens" in page
    assert 'tally-badge inactive">Inactive' in page
    assert 'tally-badge active">Active' in page


def test_create_meter(staff, db):
    response = staff.post(
        reverse("admin:metering_meter_add"),
        {
            "display_name": "Hypernian output tokens",
            "event_name": "hypernian_output_tokens",
            "formula": "sum",
            "customer_payload_key": "stripe_customer_id",
            "value_payload_key": "value",
            "event_time_window": "",
        },
    )
    meter = Meter.objects.get()
    assert response.status_code == 302
    assert response["Location"] == views.meter_url(meter)
    assert Event.objects.filter(type="billing.meter.created").exists()
    duplicate = staff.post(
        reverse("admin:metering_meter_add"),
        {
            "display_name": "Again",
            "event_name": "hypernian_output_tokens",
            "formula": "sum",
            "customer_payload_key": "stripe_customer_id",
            "value_payload_key": "value",
        },
    )
    assert duplicate.status_code == 200
    assert "already exists" in duplicate.content.decode()


def test_detail_page_has_chart_events_and_forms(staff, db):
    meter = MeterFactory(display_name="Tokens")
    customer = CustomerFactory(name="Jenny Rosen")
    record(meter, customer, 40, NOW - timedelta(days=1))
    record(meter, customer, -5, NOW - timedelta(days=2))
    page = staff.get(views.meter_url(meter))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-bars="30"' in html  # 30 days by default
    assert 'data-value="40"' in html
    assert "bar negative" in html
    assert "(the days charted): <strong>35</strong>" in html
    assert html.count("data-event=") == 2
    assert "Send test event" in html
    assert 'data-action="deactivate"' in html


def test_chart_filters(staff, db):
    meter = MeterFactory()
    jenny, other = CustomerFactory(), CustomerFactory()
    record(meter, jenny, 3, NOW - timedelta(hours=2))
    record(meter, other, 100, NOW - timedelta(hours=2))
    url = views.meter_url(meter)
    hourly = staff.get(
        url,
        {
            "customer": jenny.pk,
            "start": "2026-05-01",
            "end": "2026-05-01",
            "granularity": "hour",
        },
    ).content.decode()
    assert 'data-bars="24"' in hourly
    assert 'data-value="3"' in hourly
    assert 'data-value="100"' not in hourly
    everyone = staff.get(
        url, {"start": "2026-05-01", "end": "2026-05-01", "granularity": "day"}
    ).content.decode()
    assert 'data-value="103"' in everyone
    too_long = staff.get(
        url, {"start": "2026-01-01", "end": "2026-05-01", "granularity": "hour"}
    ).content.decode()
    assert "at most 31 days" in too_long


def test_send_test_event_goes_through_the_service(staff, db):
    meter = MeterFactory()
    customer = CustomerFactory()
    url = reverse("admin:metering_meter_test_event", args=[quote(meter.pk)])
    response = staff.post(
        url, {"event-customer": customer.pk, "event-value": "12", "event-timestamp": ""}
    )
    assert response.status_code == 302
    event = MeterEvent.objects.get()
    assert (event.value, event.timestamp) == (Decimal(12), NOW)
    stale = staff.post(
        url,
        {
            "event-customer": customer.pk,
            "event-value": "1",
            "event-timestamp": "2026-01-01T00:00",
        },
    )
    assert stale.status_code == 200
    assert "within the past 35 days" in stale.content.decode()
    assert MeterEvent.objects.count() == 1


def test_cancel_from_the_list(staff, db):
    meter = MeterFactory()
    customer = CustomerFactory()
    record(meter, customer, 9, NOW - timedelta(hours=1))
    event = MeterEvent.objects.get()
    url = reverse("admin:metering_meter_event_cancel", args=[quote(meter.pk), event.pk])
    assert staff.get(url).status_code == 405
    assert staff.post(url).status_code == 302
    assert MeterEventAdjustment.objects.filter(event=event).exists()
    assert selectors.meter_usage_for_period(
        meter=meter, customer_id=customer.id, start=NOW - timedelta(days=1), end=NOW
    ) == Decimal(0)
    page = staff.get(views.meter_url(meter))
    assert "Cancelled</span>" in page.content.decode()


def test_deactivate_reactivate_and_rename(staff, db):
    meter = MeterFactory(display_name="Before")
    staff.post(reverse("admin:metering_meter_deactivate", args=[quote(meter.pk)]))
    meter.refresh_from_db()
    assert meter.status == "inactive"
    staff.post(reverse("admin:metering_meter_reactivate", args=[quote(meter.pk)]))
    staff.post(
        reverse("admin:metering_meter_rename", args=[quote(meter.pk)]),
        {"display_name": "After"},
    )
    meter.refresh_from_db()
    assert (meter.status, meter.display_name) == ("active", "After")
    types = set(Event.objects.values_list("type", flat=True))
    assert {
        "billing.meter.deactivated",
        "billing.meter.reactivated",
        "billing.meter.updated",
    } <= types


def test_views_need_staff(client, db):
    meter = MeterFactory()
    response = client.get(views.meter_url(meter))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_bar_chart_geometry():
    series = [
        (NOW, Decimal(10)),
        (NOW + timedelta(days=1), Decimal(-5)),
        (NOW + timedelta(days=2), Decimal(0)),
    ]
    chart = bar_chart(series, hourly=False)
    up, down, flat = chart.bars
    assert up.height == pytest.approx(2 * down.height)
    assert up.y + up.height == pytest.approx(chart.zero_y)
    assert down.y == pytest.approx(chart.zero_y)
    assert down.negative
    assert flat.height == 0
    assert chart.total == Decimal(5)
    assert not chart.empty
    assert bar_chart([(NOW, Decimal(0))], hourly=True).empty
