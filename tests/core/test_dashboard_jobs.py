"""Dashboard jobs of issue 21 in core: a test clock on Add customer, the clock's
shortcuts, no "View site" loop."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from core.dashboard import clock_shortcuts
from core.models import Customer
from tests.core.factories import TestClockFactory

pytestmark = pytest.mark.django_db

JAN31 = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


def test_add_customer_attaches_a_test_clock(admin_client):
    test_clock = TestClockFactory(frozen_time=JAN31)
    url = reverse("admin:core_customer_add")
    page = admin_client.get(url).content.decode()
    select = page.split('name="test_clock"', 1)[1].split(">", 1)[0]
    assert "disabled" not in select
    response = admin_client.post(
        url, {"name": "Clocked", "email": "c@example.com", "test_clock": test_clock.pk}
    )
    assert response.status_code == 302
    assert Customer.objects.get(name="Clocked").test_clock_id == test_clock.pk


def test_an_existing_customer_keeps_its_clock(admin_client):
    customer = Customer.objects.create(name="Old")
    page = admin_client.get(
        reverse("admin:core_customer_change", args=[customer.pk]), {"edit": "1"}
    )
    select = page.content.decode().split('name="test_clock"', 1)[1].split(">", 1)[0]
    assert "disabled" in select


def test_clock_shortcuts_are_a_day_and_a_calendar_month_ahead():
    test_clock = TestClockFactory(frozen_time=JAN31)
    shortcuts = dict(clock_shortcuts(test_clock))
    assert shortcuts["+1 day"] == datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
    assert shortcuts["+1 month"] == datetime(2026, 2, 28, 12, 0, tzinfo=UTC)


def test_a_shortcut_advances_the_clock(
    admin_client, django_capture_on_commit_callbacks
):
    test_clock = TestClockFactory(frozen_time=JAN31)
    url = reverse("admin:core_testclock_advance", args=[test_clock.pk])
    page = admin_client.get(url).content.decode()
    assert "+1 day" in page
    assert 'value="2026-02-01T12:00"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"frozen_time": "2026-02-01T12:00"})
    assert response.status_code == 302
    test_clock.refresh_from_db()
    assert test_clock.frozen_time == datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def test_no_view_site_link_loops_back(admin_client):
    assert b"View site" not in admin_client.get(reverse("admin:index")).content
