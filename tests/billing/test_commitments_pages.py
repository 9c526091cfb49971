"""Commitments on the staff subscription and customer pages and the customer's
portal: made and voided from the dashboard (refused input shown, nothing
written), a prepaid one's balance, burn rate and run-out date on every page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote
from django.test import Client
from django.urls import reverse

from billing.models import Commitment
from billing.services import subscription_create
from core import clock
from core.services.portal import portal_session_create
from tests.billing.factories import (
    CustomerFactory,
    PriceFactory,
    TestClockFactory,
    record_usage,
)

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
APR16 = datetime(2026, 4, 16, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sub():
    customer = CustomerFactory(
        name="Hypernian Labs", test_clock=TestClockFactory(frozen_time=APR16)
    )
    price = PriceFactory(metered=True, unit_amount_decimal=Decimal(10))
    sub = subscription_create(
        customer=customer, params={"items": [{"price": price.pk}]}, now=APR1
    )
    # $300.00 of usage in the first 15 days of the term.
    record_usage(
        meter=price.recurring_meter,
        customer=customer,
        value=3_000,
        at=APR1 + timedelta(days=2),
    )
    return sub


def _text(response) -> str:
    assert response.status_code == 200, response.status_code
    return re.sub(r"\s+", " ", response.content.decode())


def _page(sub) -> str:
    return reverse("admin:billing_subscription_change", args=[quote(sub.pk)])


def _create(admin_client, sub, **fields):
    url = reverse("admin:billing_subscription_commitment", args=[quote(sub.pk)])
    return admin_client.post(url, fields, follow=True)


def test_staff_make_a_prepaid_commitment_and_see_its_drawdown(admin_client, sub):
    page = _text(admin_client.get(_page(sub)))
    assert "Commitments" in page
    assert "No commitments." in page
    response = _create(
        admin_client,
        sub,
        type="prepaid",
        amount="12000.00",
        term_start="2026-04-01",
        term_end="2027-04-01",
        description="Annual prepaid",
    )
    text = _text(response)
    assert "Saved the commitment." in text
    commitment = Commitment.objects.get()
    assert (commitment.amount, commitment.term_start) == (1_200_000, APR1)
    # Used $300.00 in 15 days: $20.00 a day; $11,700.00 would last 585 days.
    assert "$11,700.00" in text
    assert "$20.00 / day" in text
    assert "Not before the term ends" in text
    customer_page = _text(
        admin_client.get(
            reverse("admin:core_customer_change", args=[quote(sub.customer_id)])
        )
    )
    assert commitment.pk in customer_page
    assert "$11,700.00" in customer_page
    portal = Client().get(
        portal_session_create(customer=sub.customer, now=clock.now()).url,
        follow=True,
    )
    portal_text = _text(portal)
    assert "Commitments" in portal_text
    assert "$11,700.00" in portal_text
    assert "Not before Apr 1, 2027" in portal_text


def test_refused_input_is_shown_and_nothing_written(admin_client, sub):
    text = _text(_create(admin_client, sub, type="prepaid", amount="-5"))
    assert "amount" in text.lower()
    text = _text(_create(admin_client, sub, type="prepaid", amount="100"))
    assert "A prepaid commitment needs term[end]." in text
    assert not Commitment.objects.exists()


def test_staff_void_a_minimum_spend(admin_client, sub):
    _create(admin_client, sub, type="minimum_spend", amount="100")
    commitment = Commitment.objects.get()
    assert commitment.amount == 10_000
    assert commitment.term_start == sub.current_period_start
    url = reverse("admin:billing_subscription_commitment_void", args=[quote(sub.pk)])
    text = _text(admin_client.post(url, {"commitment": commitment.pk}, follow=True))
    assert "Voided the commitment." in text
    commitment.refresh_from_db()
    assert commitment.voided_at is not None
