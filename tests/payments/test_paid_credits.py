"""Seed 003 without a person: a paid prepayment invoice grants its credits; auto
top-up buys more when the real-time balance crosses below a level, once per
crossing, within a monthly ceiling."""

from __future__ import annotations

from datetime import timedelta

import pytest

from billing.services import invoice_pay
from credits.models import CreditGrant
from credits.services import credit_grant_create, credit_grant_void
from payments.models import PaidCredit, TopUp
from payments.services.collection import invoice_payment_attempt
from payments.services.top_ups import auto_top_up_evaluate, auto_top_up_set
from tests.billing.factories import CustomerFactory, hypernian, report_usage
from tests.payments.factories import T0, customer_with_card, open_invoice

pytestmark = pytest.mark.django_db

PREPAID = {
    "tally_credit_grant_amount": "12000000",
    "tally_credit_grant_months": "12",
    "tally_credit_grant_name": "Hypernian Credits",
}


def test_a_paid_prepayment_invoice_grants_its_credits_once():
    invoice = open_invoice(
        customer_with_card("pm_card_visa"), amount=10_000_000, metadata=PREPAID
    )
    invoice_payment_attempt(invoice_id=invoice.pk, number=1, now=T0)
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    grant = CreditGrant.objects.get(customer=invoice.customer)
    assert (grant.amount, grant.currency, grant.category) == (12_000_000, "usd", "paid")
    assert grant.name == "Hypernian Credits"
    assert grant.expires_at == T0.replace(year=T0.year + 1)
    assert grant.metadata["invoice"] == invoice.pk
    assert PaidCredit.objects.get(invoice=invoice).credit_grant == grant
    assert grant.balance == 12_000_000


def test_paid_out_of_band_grants_too_and_a_plain_invoice_grants_nothing():
    prepaid = open_invoice(CustomerFactory(), amount=5_000, metadata=PREPAID)
    invoice_pay(invoice=prepaid, paid_out_of_band=True, now=T0)
    assert PaidCredit.objects.filter(invoice=prepaid).exists()
    plain = open_invoice(CustomerFactory(), amount=5_000)
    invoice_pay(invoice=plain, paid_out_of_band=True, now=T0)
    assert not CreditGrant.objects.filter(customer=plain.customer).exists()


def test_an_unpaid_prepayment_grants_nothing():
    invoice = open_invoice(
        customer_with_card("pm_card_chargeDeclined"), amount=5_000, metadata=PREPAID
    )
    invoice_payment_attempt(invoice_id=invoice.pk, number=1, now=T0)
    assert not CreditGrant.objects.filter(customer=invoice.customer).exists()


def _top_up_customer():
    customer = customer_with_card("pm_card_visa")
    auto_top_up_set(
        customer=customer,
        params={"threshold": 500, "amount": 2_000, "monthly_ceiling": 4_000},
        now=T0,
    )
    return customer


def _pay_top_up(top_up: TopUp, now=T0):
    invoice_payment_attempt(invoice_id=top_up.invoice_id, number=1, now=now)


def test_auto_top_up_once_per_crossing_then_the_monthly_ceiling():
    customer = _top_up_customer()
    grant = credit_grant_create(customer=customer, value=300, currency="usd", now=T0)
    top_up_id = customer.auto_top_up.pk
    first = auto_top_up_evaluate(top_up_id=top_up_id, now=T0)
    assert first is not None
    assert (first.crossing, first.amount, first.balance_seen) == (1, 2_000, 300)
    assert first.invoice.total == 2_000
    # Still below the threshold until it is paid: the same crossing, no second.
    assert auto_top_up_evaluate(top_up_id=top_up_id, now=T0) is None
    _pay_top_up(first)
    bought = PaidCredit.objects.get(invoice=first.invoice).credit_grant
    assert (bought.amount, bought.category) == (2_000, "paid")
    # Back above: re-armed, nothing bought.
    assert auto_top_up_evaluate(top_up_id=top_up_id, now=T0) is None
    # A second crossing (the credit spent or voided): a second top-up.
    credit_grant_void(grant=bought, now=T0 + timedelta(hours=1))
    credit_grant_void(grant=grant, now=T0 + timedelta(hours=1))
    second = auto_top_up_evaluate(top_up_id=top_up_id, now=T0 + timedelta(hours=2))
    assert second.crossing == 2
    _pay_top_up(second, now=T0 + timedelta(hours=2))
    # Paid: back above the threshold, re-armed.
    assert (
        auto_top_up_evaluate(top_up_id=top_up_id, now=T0 + timedelta(hours=2)) is None
    )
    credit_grant_void(
        grant=PaidCredit.objects.get(invoice=second.invoice).credit_grant,
        now=T0 + timedelta(hours=3),
    )
    assert (
        auto_top_up_evaluate(top_up_id=top_up_id, now=T0 + timedelta(hours=3)) is None
    )
    # The ceiling (4,000 a month) is reached: nothing more until next month.
    assert (
        auto_top_up_evaluate(top_up_id=top_up_id, now=T0 + timedelta(hours=4)) is None
    )
    next_month = T0.replace(month=T0.month + 1, day=1)
    third = auto_top_up_evaluate(top_up_id=top_up_id, now=next_month)
    assert third is not None
    assert third.crossing == 3
    assert TopUp.objects.count() == 3


def test_auto_top_up_reads_the_real_time_balance_with_unbilled_usage():
    customer = customer_with_card("pm_card_visa")
    flat, overage = hypernian()
    from billing.services import subscription_create

    subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk, "quantity": 1}, {"price": overage.pk}]},
        now=T0,
    )
    credit_grant_create(customer=customer, value=10_000, currency="usd", now=T0)
    auto_top_up_set(
        customer=customer,
        params={"threshold": 5_000, "amount": 20_000, "monthly_ceiling": 40_000},
        now=T0,
    )
    top_up_id = customer.auto_top_up.pk
    assert auto_top_up_evaluate(top_up_id=top_up_id, now=T0) is None
    # 160,000 tokens: 60,000 over the included 100,000 at 0.1 cent = 60.00 USD of
    # credit used, not yet invoiced: 40.00 left, below the 50.00 threshold.
    later = T0 + timedelta(days=3)
    report_usage(
        meter=overage.recurring_meter,
        customer=customer,
        value=160_000,
        at=later,
        now=later,
    )
    top_up = auto_top_up_evaluate(top_up_id=top_up_id, now=later)
    assert top_up is not None
    assert top_up.balance_seen == 4_000
