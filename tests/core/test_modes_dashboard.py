"""The dashboard's "Test mode / Live mode" switch and the customer pages' mode."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from core import clock
from core.models import Customer, WebhookEndpoint
from core.services.portal import portal_session_create

SWITCH = "/admin/mode/"


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_superuser("staff", "s@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def customers(db):
    return (
        Customer.objects.create(
            name="Live Larry", invoice_prefix="LIVE0001", livemode=True
        ),
        Customer.objects.create(name="Test Tina", invoice_prefix="TEST0001"),
    )


def _switch(client, *, livemode: bool, next_url: str = "/admin/core/customer/"):
    return client.post(
        SWITCH, {"livemode": "true" if livemode else "false", "next": next_url}
    )


def test_the_dashboard_shows_test_data_until_switched(staff, customers):
    page = staff.get("/admin/core/customer/").content.decode()
    assert "Test Tina" in page
    assert "Live Larry" not in page
    assert "tally-test-banner" in page
    assert "Test mode ⇄" in page


def test_the_switch_shows_live_data_and_comes_back(staff, customers):
    live, test = customers
    response = _switch(staff, livemode=True)
    assert response.status_code == 302
    assert response["Location"] == "/admin/core/customer/"
    page = staff.get("/admin/core/customer/").content.decode()
    assert "Live Larry" in page
    assert "Test Tina" not in page
    assert "tally-test-banner" not in page
    assert "Live mode ⇄" in page
    # The other mode's object is not there, as if it did not exist.
    other = staff.get(reverse("admin:core_customer_change", args=[quote(test.pk)]))
    assert other.status_code in (302, 404)
    assert "Test Tina" not in other.content.decode()
    _switch(staff, livemode=False)
    assert "Test Tina" in staff.get("/admin/core/customer/").content.decode()


def test_objects_created_from_the_dashboard_take_its_mode(staff, customers):
    _switch(staff, livemode=True)
    response = staff.post(
        reverse("admin:core_customer_add"), {"name": "Made Live", "_save": "Save"}
    )
    assert response.status_code == 302, response.content
    assert Customer.objects.get(name="Made Live").livemode is True
    _switch(staff, livemode=False)
    staff.post(reverse("admin:core_customer_add"), {"name": "Made Test", "_save": "1"})
    assert Customer.objects.get(name="Made Test").livemode is False


def test_form_choices_list_the_dashboards_mode_only(staff, customers):
    _switch(staff, livemode=True)
    page = staff.get(reverse("admin:billing_subscription_add")).content.decode()
    assert "Live Larry" in page
    assert "Test Tina" not in page


def test_webhook_endpoints_show_their_mode(staff, db):
    WebhookEndpoint.objects.create(url="https://example.com/live", livemode=True)
    WebhookEndpoint.objects.create(url="https://example.com/test")
    _switch(staff, livemode=True)
    page = staff.get("/admin/core/webhookendpoint/").content.decode()
    assert "https://example.com/live" in page
    assert "https://example.com/test" not in page
    assert "Live mode" in page


def test_the_switch_needs_staff_and_a_post(client, db, staff):
    assert staff.get(SWITCH).status_code == 405
    staff.logout()
    assert _switch(client, livemode=True).status_code in (302, 403)
    assert client.session.get("tally_livemode") is None


def test_the_switch_goes_back_inside_the_dashboard_only(staff, customers):
    response = _switch(staff, livemode=True, next_url="https://evil.example/")
    assert response["Location"] == reverse("admin:index")


def test_customer_pages_see_their_customers_mode(client, customers):
    live, test = customers
    url = portal_session_create(customer=live, now=clock.now()).url
    page = client.get(url)
    assert page.status_code == 200
    assert "Live Larry" in page.content.decode()
    # An invoice of the other mode named in a URL is missing, as any other's.
    other = client.get(f"{url}invoices/in_doesnotexist/")
    assert other.status_code == 404


def test_test_clocks_are_made_in_test_mode_only(staff, db):
    assert staff.get(reverse("admin:core_testclock_add")).status_code == 200
    _switch(staff, livemode=True)
    assert staff.get(reverse("admin:core_testclock_add")).status_code == 403
