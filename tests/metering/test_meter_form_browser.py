"""Creating a meter in the browser: an event name with spaces and "!" is refused
with a message that says what to type; a valid one creates the meter."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from metering.models import Meter

pytestmark = pytest.mark.browser


def test_meter_event_name_is_checked_on_the_form(staff_page, live_server):
    page = staff_page
    page.goto(f"{live_server.url}/admin/metering/meter/add/")
    page.fill("#id_display_name", "API calls")
    page.fill("#id_event_name", "api calls!")
    page.click("input[type=submit]")
    expect(page.locator(".errorlist")).to_contain_text("Use only letters, digits")
    assert not Meter.objects.exists()
    page.fill("#id_event_name", "api_calls")
    page.click("input[type=submit]")
    page.wait_for_url(lambda url: "/add/" not in url)
    assert Meter.objects.get().event_name == "api_calls"
