"""Customers set, see and remove their own usage alerts from their pages."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from alerts.models import Alert
from alerts.services import alerts_evaluate
from core import clock
from core.services.portal import portal_session_create
from tests.alerts.factories import CustomerFactory, MeterFactory, make_alert, report

pytestmark = pytest.mark.django_db


@pytest.fixture
def meter():
    return MeterFactory(display_name="API tokens", event_name="api_tokens")


@pytest.fixture
def customer():
    return CustomerFactory(name="Jenny Rosen", email="jenny@example.com")


def _link(customer) -> str:
    url = portal_session_create(customer=customer, now=clock.now()).url
    return url


def _text(response) -> str:
    assert response.status_code == 200, response.status_code
    return re.sub(r"\s+", " ", response.content.decode())


def test_a_customer_sets_an_alert_and_is_emailed_once_when_usage_reaches_it(
    meter, customer, django_capture_on_commit_callbacks
):
    link = _link(customer)
    client = Client()
    assert "No usage alerts yet." in _text(client.get(link))
    response = client.post(f"{link}alerts/", {"meter": meter.pk, "gte": "1000"})
    assert response.status_code == 302
    assert response["Location"] == f"{link}alerts/?created=1"
    alert = Alert.objects.get()
    assert (alert.customer, alert.gte, alert.title) == (
        customer,
        1000,
        "API tokens reached 1,000",
    )
    assert alert.metadata == {"created_from": "customer_page"}
    assert "Watching" in _text(client.get(f"{link}alerts/"))

    now = clock.now()
    report(meter=meter, customer=customer, value=999, now=now, at=now)
    with django_capture_on_commit_callbacks(execute=True):
        alerts_evaluate(now=now)
    assert not mail.outbox
    report(meter=meter, customer=customer, value=1, now=now, at=now)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            alerts_evaluate(now=now)
    to_customer = [m for m in mail.outbox if m.to == ["jenny@example.com"]]
    assert len(to_customer) == 1
    page = _text(client.get(link))
    assert re.search(rf'data-alert="{alert.pk}">.*?Reached.*?at 1,000', page)


def test_bad_thresholds_are_refused_with_a_message(meter, customer):
    link = _link(customer)
    html = _text(Client().post(f"{link}alerts/", {"meter": meter.pk, "gte": "0"}))
    assert "greater than or equal to 1" in html
    assert not Alert.objects.exists()


def test_only_own_alerts_can_be_removed(meter, customer):
    staff_alert = make_alert(meter=meter, customer=customer, now=clock.now())
    link = _link(customer)
    client = Client()
    client.post(f"{link}alerts/", {"meter": meter.pk, "gte": "50"})
    own = Alert.objects.get(metadata__created_from="customer_page")
    assert "set by your provider" in _text(client.get(f"{link}alerts/"))
    assert client.post(f"{link}alerts/{staff_alert.pk}/remove/").status_code == 404
    stranger_link = _link(CustomerFactory())
    assert client.post(f"{stranger_link}alerts/{own.pk}/remove/").status_code == 404
    assert client.post(f"{link}alerts/{own.pk}/remove/").status_code == 302
    own.refresh_from_db()
    staff_alert.refresh_from_db()
    assert (own.status, staff_alert.status) == ("archived", "active")


def test_forms_need_the_csrf_token(meter, customer):
    link = _link(customer)
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"{link}alerts/", {"meter": meter.pk, "gte": "10"})
    assert response.status_code == 403
    page = client.get(f"{link}alerts/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(
        f"{link}alerts/",
        {"meter": meter.pk, "gte": "10", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
