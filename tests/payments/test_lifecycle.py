"""Whole lifecycles without a person, as the workers run them: finalization
queues the charge after commit (Celery, eager here), retries follow the
schedule, a top-up is made, charged and granted. Seen through the API."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from billing.models import Invoice
from billing.services import subscription_create
from credits.services import credit_grant_create
from payments.models import PaidCredit, PaymentAttempt, SimulatedCharge
from payments.services.due import invoices_collect_due
from payments.services.payment_methods import customer_default_payment_method_set
from payments.services.top_ups import auto_top_up_evaluate, auto_top_up_set
from tests.billing.factories import PriceFactory, TestClockFactory
from tests.payments.factories import T0, attach, customer_with_card, event_types

pytestmark = pytest.mark.django_db(transaction=True)


def _card_holder(card: str):
    """A customer with ``card`` living at T0 (a test clock): the workers read
    their time from the customer's clock, as in production from the real one."""
    return customer_with_card(card, test_clock=TestClockFactory(frozen_time=T0))


def _subscribe(customer, amount: int = 5_000):
    return subscription_create(
        customer=customer,
        params={
            "items": [{"price": PriceFactory(unit_amount_decimal=Decimal(amount)).pk}]
        },
        now=T0,
    )


def test_a_subscription_invoice_is_charged_after_finalization(api):
    sub = _subscribe(_card_holder("pm_card_visa"))
    body = api.get(f"/v1/invoices/{sub.latest_invoice_id}").json()
    assert body["billing_reason"] == "subscription_create"
    assert (body["status"], body["amount_paid"], body["amount_remaining"]) == (
        "paid",
        5_000,
        0,
    )
    assert (body["attempted"], body["attempt_count"]) == (True, 1)
    assert body["next_payment_attempt"] is None
    assert body["status_transitions"]["paid_at"] == int(T0.timestamp())
    types = event_types(sub.latest_invoice_id)
    for once in ("invoice.finalized", "invoice.payment_succeeded", "invoice.paid"):
        assert types.count(once) == 1
    assert SimulatedCharge.objects.count() == 1
    assert api.get(f"/v1/subscriptions/{sub.pk}").json()["status"] == "active"


def test_a_decline_then_the_retry_with_a_new_card_pays(api):
    customer = _card_holder("pm_card_chargeDeclinedInsufficientFunds")
    sub = _subscribe(customer)
    invoice_id = sub.latest_invoice_id
    body = api.get(f"/v1/invoices/{invoice_id}").json()
    assert (body["status"], body["attempted"], body["attempt_count"]) == (
        "open",
        True,
        1,
    )
    assert body["next_payment_attempt"] == int((T0 + timedelta(days=3)).timestamp())
    assert api.get(f"/v1/subscriptions/{sub.pk}").json()["status"] == "past_due"
    assert "invoice.payment_failed" in event_types(invoice_id)

    customer_default_payment_method_set(
        customer=customer, payment_method=attach(customer, "pm_card_visa")
    )
    clock = customer.test_clock
    assert invoices_collect_due(now=T0 + timedelta(days=1), test_clock=clock) == 0
    assert invoices_collect_due(now=T0 + timedelta(days=3), test_clock=clock) == 1
    body = api.get(f"/v1/invoices/{invoice_id}").json()
    assert (body["status"], body["attempt_count"], body["amount_paid"]) == (
        "paid",
        2,
        5_000,
    )
    assert body["status_transitions"]["paid_at"] == int(
        (T0 + timedelta(days=3)).timestamp()
    )
    assert api.get(f"/v1/subscriptions/{sub.pk}").json()["status"] == "active"
    assert list(
        PaymentAttempt.objects.filter(invoice_id=invoice_id)
        .order_by("number")
        .values_list("status", flat=True)
    ) == ["failed", "succeeded"]


def test_an_auto_top_up_is_made_charged_and_granted_without_a_person():
    customer = _card_holder("pm_card_visa")
    credit_grant_create(customer=customer, value=300, currency="usd", now=T0)
    auto_top_up_set(
        customer=customer,
        params={"threshold": 500, "amount": 2_000, "monthly_ceiling": 4_000},
        now=T0,
    )
    top_up = auto_top_up_evaluate(top_up_id=customer.auto_top_up.pk, now=T0)
    invoice = Invoice.objects.get(pk=top_up.invoice_id)
    assert (invoice.status, invoice.amount_paid) == ("paid", 2_000)
    grant = PaidCredit.objects.get(invoice=invoice).credit_grant
    assert (grant.amount, grant.category, grant.metadata["invoice"]) == (
        2_000,
        "paid",
        invoice.pk,
    )
    # Paid and granted: the balance is back above the level, nothing more.
    assert auto_top_up_evaluate(top_up_id=customer.auto_top_up.pk, now=T0) is None
    assert SimulatedCharge.objects.count() == 1
