"""The meter page in a real browser: chart, "Send test event", cancel."""

import pytest

from metering.models import MeterEvent
from tests.metering.factories import CustomerFactory, MeterFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_send_and_cancel_a_test_event(staff_page, live_server):
    meter = MeterFactory(display_name="Hypernian input tokens")
    customer = CustomerFactory(name="Jenny Rosen")
    page = staff_page
    page.goto(f"{live_server.url}/admin/metering/meter/")
    page.click("text=Hypernian input tokens")
    assert page.locator("svg[data-chart] rect.bar").count() == 30
    page.select_option("#id_event-customer", customer.pk)
    page.fill("#id_event-value", "250")
    page.click("button[data-action=send]")
    page.wait_for_selector(f"tr[data-event] >> text={customer.name}")
    assert "Recorded 250 for Jenny Rosen" in page.content()
    assert page.locator("rect.bar[data-value='250']").count() == 1
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("button[data-action=cancel]")
    page.wait_for_selector("tr.cancelled")
    event = MeterEvent.objects.get(meter=meter)
    assert event.cancellation is not None
    assert page.locator("rect.bar[data-value='250']").count() == 0
