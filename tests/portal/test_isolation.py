"""Customer pages are isolated: every customer URL, tried with another customer's
link and with an expired or revoked link, shows and changes nothing of the victim's.

The URLs are read from the URL conf (``config.urls.customer_pages``), so a page
added later is walked too; each id in a URL is filled with the victim's object.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import URLPattern

from alerts.models import Alert
from config.urls import customer_pages
from core import clock
from core.models import Customer
from core.services.portal import portal_session_create, portal_sessions_revoke
from payments.models import PaymentMethod
from tests.alerts.factories import make_alert, report
from tests.billing.factories import CustomerFactory, MeterFactory
from tests.payments.factories import open_invoice

pytestmark = pytest.mark.django_db

VICTIM_NAME = "Victim Holdings"
VICTIM_EMAIL = "ap@victim.example"


@pytest.fixture
def victim():
    """A customer with an open invoice, a default card, an alert and usage."""
    customer = CustomerFactory(name=VICTIM_NAME, email=VICTIM_EMAIL)
    meter = MeterFactory(display_name="Victim tokens", event_name="victim_tokens")
    invoice = open_invoice(customer, amount=98_765)
    own = portal_session_create(customer=customer, now=clock.now()).url
    Client().post(f"{own}payment-methods/", {"card": "pm_card_visa"})
    card = PaymentMethod.objects.get(customer=customer)
    alert = make_alert(meter=meter, customer=customer, gte=4321, now=clock.now())
    report(meter=meter, customer=customer, value=777, now=clock.now())
    ids = {
        "invoice_id": invoice.pk,
        "payment_method_id": card.pk,
        "alert_id": alert.pk,
        "meter_id": meter.pk,
    }
    return customer, ids


def _routes() -> list[str]:
    """Every customer page's route (relative to the link), with its id parameters."""
    routes = []
    for pattern in customer_pages:
        assert isinstance(pattern, URLPattern), pattern
        routes.append(str(pattern.pattern))
    return routes


def _fill(route: str, ids: dict[str, str]) -> str:
    path = route
    for name, value in ids.items():
        path = path.replace(f"<str:{name}>", value)
    assert "<" not in path, f"no victim object for a parameter of {route!r}"
    return path


def _victim_state(customer: Customer, ids: dict[str, str]) -> tuple:
    customer.refresh_from_db()
    return (
        customer.invoice_settings.get("default_payment_method"),
        sorted(PaymentMethod.objects.filter(customer=customer).values_list("pk")),
        sorted(Alert.objects.filter(customer=customer).values_list("pk", "gte")),
        customer.invoices.get(pk=ids["invoice_id"]).status,
    )


def _shows_nothing_of_the_victim(response, ids: dict[str, str]) -> None:
    assert response.status_code in (200, 302, 404, 405), response.status_code
    body = response.content.decode(errors="replace")
    for secret in (VICTIM_NAME, VICTIM_EMAIL, "987.65", "4,321", *ids.values()):
        if secret == ids["meter_id"]:
            continue  # meters are the account's, not a customer's
        assert secret not in body, (response.request["PATH_INFO"], secret)


def test_the_walk_covers_every_customer_route():
    routes = _routes()
    assert "" in routes
    assert "invoices/<str:invoice_id>/" in routes
    assert "payment-methods/<str:payment_method_id>/remove/" in routes
    assert len(routes) >= 10


def test_another_customers_link_reaches_nothing_of_the_victim(victim):
    customer, ids = victim
    before = _victim_state(customer, ids)
    intruder = portal_session_create(
        customer=CustomerFactory(name="Intruder"), now=clock.now()
    ).url
    client = Client()
    # The check sees the victim's data where it belongs: on the victim's own pages.
    own = portal_session_create(customer=customer, now=clock.now()).url
    with pytest.raises(AssertionError):
        _shows_nothing_of_the_victim(client.get(f"{own}invoices/"), ids)
    for route in _routes():
        url = intruder + _fill(route, ids)
        _shows_nothing_of_the_victim(client.get(url), ids)
        posted = client.post(
            url, {"payment_method": "pm_card_visa", "meter": ids["meter_id"]}
        )
        _shows_nothing_of_the_victim(posted, ids)
        if "<str:" in route and not route.startswith("usage/"):
            # An id of the victim's in the URL: not there for this customer.
            assert client.get(url).status_code in (404, 405), url
    assert _victim_state(customer, ids) == before


def _opens_nothing(client: Client, link: str, ids: dict[str, str]) -> None:
    for route in _routes():
        url = link + _fill(route, ids)
        for response in (
            client.get(url),
            client.post(url, {"payment_method": "pm_card_visa"}),
        ):
            assert response.status_code in (404, 405), (url, response.status_code)
            _shows_nothing_of_the_victim(response, ids)


def test_an_expired_link_opens_no_page(victim):
    customer, ids = victim
    with time_machine.travel(datetime(2026, 11, 1, tzinfo=UTC), tick=False):
        session = portal_session_create(
            customer=customer, now=clock.now(), lifetime=timedelta(hours=1)
        )
    before = _victim_state(customer, ids)
    with time_machine.travel(session.expires_at, tick=False):
        _opens_nothing(Client(), session.url, ids)
    assert _victim_state(customer, ids) == before


def test_a_revoked_link_opens_no_page(victim):
    customer, ids = victim
    link = portal_session_create(customer=customer, now=clock.now()).url
    assert portal_sessions_revoke(customer=customer, now=clock.now()) >= 1
    before = _victim_state(customer, ids)
    _opens_nothing(Client(), link, ids)
    assert _victim_state(customer, ids) == before
