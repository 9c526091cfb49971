"""Customer pages end to end: the link, each section, each page, to the cent.

Customers sit on a test clock (April 25, 2026) so "this period" and "the last 30
days" are fixed; links expire by wall-clock time, moved with time_machine.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.admin.utils import quote
from django.test import Client
from django.urls import reverse

from billing.services import (
    invoice_create,
    invoice_finalize_manual,
    invoice_item_create,
    subscription_create,
)
from core import clock
from core.models import PortalSession
from core.services.portal import portal_session_create, portal_sessions_revoke
from credits.services import credit_grant_create
from tests.billing.factories import (
    CustomerFactory,
    MeterFactory,
    TestClockFactory,
    hypernian,
    record_usage,
)

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
APR25 = datetime(2026, 4, 25, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    test_clock = TestClockFactory(frozen_time=APR1)
    return CustomerFactory(
        name="Hypernian Labs", email="ops@hypernian.test", test_clock=test_clock
    )


def _advance(customer, to: datetime) -> None:
    customer.test_clock.frozen_time = to
    customer.test_clock.save(update_fields=["frozen_time"])
    customer.refresh_from_db()


def _link(customer, **kwargs) -> str:
    return portal_session_create(customer=customer, now=clock.now(), **kwargs).url


def _get(url: str):
    return Client().get(url)


def _text(response) -> str:
    assert response.status_code == 200, response.status_code
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def subscribed(customer):
    """Seed 003's Hypernian Pro from April 1, 150,000 tokens by April 24."""
    meter = MeterFactory(
        display_name="Hypernian API tokens", event_name="hypernian_api_tokens"
    )
    flat, overage = hypernian(meter=meter)
    sub = subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk, "quantity": 1}, {"price": overage.pk}]},
        now=APR1,
    )
    for day, value in ((10, 100_000), (24, 50_000)):
        record_usage(
            meter=meter, customer=customer, value=value, at=APR1.replace(day=day)
        )
    _advance(customer, APR25)
    return sub, meter


def test_overview_shows_usage_so_far_and_the_upcoming_invoice(customer, subscribed):
    sub, meter = subscribed
    html = _text(_get(_link(customer)))
    assert "Hypernian Labs" in html
    assert "Simulated time Apr 25, 2026" in html
    # 150,000 tokens: 100,000 included, 50,000 × 0.1¢ = 50.00 so far.
    usage_row = re.search(r'data-usage-item="[^"]+">(.*?)</tr>', html).group(1)
    assert "150,000 tokens" in usage_row
    assert "$50.00" in usage_row
    assert re.search(r'data-licensed-item="[^"]+">.*?data-amount>\$200\.00<', html)
    # Next invoice: 200.00 fee for May + 50.00 of April's usage.
    assert re.search(r"data-upcoming-total>\$250\.00<", html)
    # The usage chart: 30 daily bars, total 150,000.
    assert re.search(rf'data-meter="{meter.pk}".*?data-total>150,000<', html)
    assert 'data-bars="30"' in html


def test_first_invoice_is_listed_and_printable(customer, subscribed):
    sub, _ = subscribed
    first = sub.latest_invoice
    link = _link(customer)
    html = _text(_get(link))
    assert first.number in html
    page = _text(_get(f"{link}invoices/{first.pk}/"))
    assert f"Invoice {first.number}" in page
    assert "$200.00" in page
    assert "window.print()" in page


def test_drafts_and_other_customers_invoices_are_not_shown(customer, subscribed):
    sub, _ = subscribed
    other = CustomerFactory()
    other_invoice = invoice_finalize_manual(invoice=_one_off(other, APR25), now=APR25)
    draft = _one_off(customer, APR25)
    link = _link(customer)
    assert _get(f"{link}invoices/{other_invoice.pk}/").status_code == 404
    assert _get(f"{link}invoices/{draft.pk}/").status_code == 404
    listing = _text(_get(f"{link}invoices/"))
    assert other_invoice.number not in listing
    assert draft.pk not in listing


def _one_off(customer, now):
    invoice_item_create(
        customer=customer,
        params={"amount": 500, "currency": "usd", "description": "Setup"},
        now=now,
    )
    return invoice_create(
        customer=customer,
        params={"pending_invoice_items_behavior": "include"},
        now=now,
    )


def test_usage_page_counts_only_this_customer(customer, subscribed):
    _, meter = subscribed
    stranger = CustomerFactory()
    record_usage(meter=meter, customer=stranger, value=7, at=APR1.replace(day=20))
    link = _link(customer)
    html = _text(_get(f"{link}usage/{meter.pk}/?range=7d"))
    assert re.search(r"data-total>50,000<", html)  # Apr 19–25: the 50,000 of Apr 24
    assert 'data-bars="7"' in html
    html = _text(_get(f"{link}usage/{meter.pk}/?range=24h"))
    assert 'data-bars="24"' in html
    assert _get(f"{link}usage/mtr_nope/").status_code == 404


def test_credit_balance_section(customer, subscribed):
    link = _link(customer)
    assert "Credit balance" not in _text(_get(link))
    credit_grant_create(
        customer=customer,
        value=1234,
        currency="usd",
        name="Launch credits",
        category="promotional",
        expires_at=APR25 + timedelta(days=30),
        now=APR25,
    )
    html = _text(_get(link))
    assert "Credit balance" in html
    assert re.search(r'data-balance="usd">.*?\$12\.34', html)
    assert "Launch credits" in html
    # The upcoming invoice now applies the 12.34 to April's usage.
    assert re.search(r"data-upcoming-credits>−\$12\.34<", html)
    assert re.search(r"data-upcoming-total>\$237\.66<", html)


def test_link_expires_by_wall_clock_and_can_be_revoked(customer):
    with time_machine.travel(datetime(2026, 11, 1, tzinfo=UTC), tick=False):
        link = _link(customer, lifetime=timedelta(hours=1))
        assert _get(link).status_code == 200
    session = PortalSession.objects.get()
    with time_machine.travel(session.expires_at - timedelta(seconds=1), tick=False):
        assert _get(link).status_code == 200
    with time_machine.travel(session.expires_at, tick=False):
        response = _get(link)
        assert response.status_code == 404
        assert "This link has expired" in response.content.decode()
    fresh = _link(customer)
    assert portal_sessions_revoke(customer=customer, now=clock.now()) == 1
    assert _get(fresh).status_code == 404


def test_unknown_tampered_and_deleted(customer):
    link = _link(customer)
    assert _get(link[:-2] + "xx/").status_code == 404
    assert _get("/customer/cps_unknown/").status_code == 404
    customer.deleted = True
    customer.save(update_fields=["deleted"])
    assert _get(link).status_code == 404


def test_pages_are_private(customer):
    response = _get(_link(customer))
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response["X-Robots-Tag"]
    assert Client().post(_link(customer)).status_code == 405


def test_only_the_hash_of_the_secret_is_stored(customer):
    link = _link(customer)
    secret = link.rstrip("/").rsplit("/", 1)[1]
    assert secret.startswith("cps_")
    assert not PortalSession.objects.filter(secret_hash__contains=secret[4:]).exists()


# ---- API: Stripe's billing_portal.session -----------------------------------------


def test_api_creates_a_session_with_stripe_shape(api, customer):
    response = api.post(
        "/v1/billing_portal/sessions",
        {"customer": customer.pk, "return_url": "https://app.example.com/account"},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["object"] == "billing_portal.session"
    assert body["id"].startswith("bps_")
    assert body["customer"] == customer.pk
    assert body["return_url"] == "https://app.example.com/account"
    assert body["url"].startswith("http://testserver/customer/cps_")
    assert body["livemode"] is False
    assert {"configuration", "flow", "locale", "on_behalf_of"} <= body.keys()
    page = _text(Client().get(body["url"]))
    assert 'href="https://app.example.com/account"' in page


@pytest.mark.parametrize(
    ("params", "status", "param", "code"),
    [
        ({}, 400, "customer", "parameter_missing"),
        ({"customer": "cus_missing"}, 404, "customer", "resource_missing"),
        ({"return_url": "javascript:alert(1)"}, 400, "return_url", None),
        ({"flow": "x"}, 400, "flow", "parameter_unknown"),
    ],
)
def test_api_errors(api, customer, params, status, param, code):
    if params.get("return_url"):
        params["customer"] = customer.pk
    response = api.post("/v1/billing_portal/sessions", params)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["param"] == param
    if code:
        assert error["code"] == code


def test_sdk_creates_a_session(stripe_sdk):
    customer = stripe_sdk.Customer.create(name="SDK customer")
    session = stripe_sdk.billing_portal.Session.create(
        customer=customer.id, return_url="https://example.com/back"
    )
    assert session.object == "billing_portal.session"
    assert session.customer == customer.id
    path = "/" + session.url.split("://", 1)[1].split("/", 1)[1]
    assert "SDK customer" in _text(Client().get(path))


# ---- dashboard -----------------------------------------------------------------------


def test_staff_open_the_customer_page_and_revoke_links(admin_client, customer):
    change = reverse("admin:core_customer_change", args=[quote(customer.pk)])
    assert "Open customer page" in admin_client.get(change).content.decode()
    opened = admin_client.post(reverse("admin:core_customer_page", args=[customer.pk]))
    assert opened.status_code == 302
    assert re.match(r"http://testserver/customer/cps_\w+/$", opened["Location"])
    assert _get(opened["Location"]).status_code == 200
    assert (
        admin_client.get(
            reverse("admin:core_customer_page", args=[customer.pk])
        ).status_code
        == 403
    )
    assert "Revoke 1 link" in admin_client.get(change).content.decode()
    admin_client.post(reverse("admin:core_customer_page_revoke", args=[customer.pk]))
    assert _get(opened["Location"]).status_code == 404
