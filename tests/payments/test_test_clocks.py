"""Collection on a test clock: advancing through the retry schedule attempts on
each retry day and ends in the configured state, as if the weeks had passed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from billing.models import Invoice
from billing.services import subscription_create
from core.services import test_clocks
from payments.models import PaymentAttempt
from tests.billing.factories import PriceFactory, TestClockFactory
from tests.payments.factories import T0, customer_with_card, event_types

pytestmark = pytest.mark.django_db


def test_an_advance_retries_on_schedule_then_the_subscription_is_unpaid(
    django_capture_on_commit_callbacks,
):
    clock = TestClockFactory(frozen_time=T0)
    customer = customer_with_card("pm_card_chargeDeclined", test_clock=clock)
    sub = subscription_create(
        customer=customer,
        params={
            "items": [{"price": PriceFactory(unit_amount_decimal=Decimal(5_000)).pk}]
        },
        now=T0,
    )
    invoice = sub.latest_invoice
    with django_capture_on_commit_callbacks(execute=True):
        test_clocks.test_clock_advance(
            test_clock=clock, frozen_time=T0 + timedelta(days=20)
        )
    clock.refresh_from_db()
    assert clock.status == "ready"
    attempts = list(
        PaymentAttempt.objects.filter(invoice=invoice).values_list("number", "created")
    )
    assert attempts == [
        (1, T0),
        (2, T0 + timedelta(days=3)),
        (3, T0 + timedelta(days=7)),
        (4, T0 + timedelta(days=14)),
    ]
    invoice = Invoice.objects.get(pk=invoice.pk)
    sub.refresh_from_db()
    assert (invoice.status, invoice.next_payment_attempt) == ("open", None)
    assert sub.status == "unpaid"
    assert event_types(invoice.pk).count("invoice.payment_failed") == 4
