"""Invariants of money received: whatever the sequence of payments, paid plus
remaining is what was due, nothing goes negative, and paid means nothing remains."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.services.settlement import invoice_lock, invoice_payment_apply
from core.errors import InvalidRequest, InvalidState
from tests.billing.factories import CustomerFactory
from tests.payments.factories import T0, open_invoice

pytestmark = pytest.mark.django_db


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    due=st.integers(min_value=1, max_value=10**9),
    payments=st.lists(st.integers(min_value=-5, max_value=10**9), max_size=6),
)
def test_payments_never_overpay_and_always_add_up(due, payments):
    invoice = open_invoice(CustomerFactory(), amount=due)
    for amount in payments:
        try:
            invoice_payment_apply(
                invoice=invoice_lock(invoice.pk), amount=amount, now=T0
            )
        except (InvalidRequest, InvalidState):
            pass
        invoice.refresh_from_db()
        assert invoice.amount_paid + invoice.amount_remaining == due
        assert invoice.amount_paid >= 0
        assert invoice.amount_remaining >= 0
        assert (invoice.status == "paid") == (invoice.amount_remaining == 0)
