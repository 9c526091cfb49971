"""Seed 001: billing credits apply at finalization, before tax, to metered lines;
voiding gives them back; previews show them."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from billing.models import Invoice
from billing.services import (
    invoice_preview,
    invoice_void,
    invoices_finalize_due,
    subscription_create,
    subscriptions_close_due,
)
from credits.selectors import credit_balance_summary
from credits.services import credit_grant_create
from tests.billing.factories import (
    CustomerFactory,
    PriceFactory,
    ProductFactory,
    record_usage,
)

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def test_credits_reduce_metered_lines_and_come_back_on_void():
    customer = CustomerFactory(name="Jenny Rosen")
    product = ProductFactory(name="Hypernian input tokens", unit_label="tokens")
    tokens = PriceFactory(
        product=product, metered=True, unit_amount_decimal=Decimal(3)
    )  # 0.03 USD per token
    seats = PriceFactory()  # 10.00 licensed: never paid by credits
    grant = credit_grant_create(
        customer=customer, value=1_000, currency="usd", now=APR1, name="Starter"
    )
    sub = subscription_create(
        customer=customer,
        params={"items": [{"price": seats.pk}, {"price": tokens.pk}]},
        now=APR1,
    )
    record_usage(
        meter=tokens.recurring_meter,
        customer=customer,
        value=500,
        at=APR1 + timedelta(days=2),
    )
    preview = invoice_preview(customer=customer, subscription=None, now=APR1)
    assert preview["subtotal"] == 1500 + 1000
    assert preview["total"] == 1500
    assert preview["total_pretax_credit_amounts"][0]["amount"] == 1000

    subscriptions_close_due(now=MAY1)
    invoices_finalize_due(now=MAY1 + timedelta(hours=1))
    invoice = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
    assert (invoice.subtotal, invoice.total, invoice.amount_due) == (2500, 1500, 1500)
    (applied,) = invoice.total_pretax_credit_amounts
    assert applied["amount"] == 1000
    assert applied["type"] == "credit_balance_transaction"
    assert applied["credit_balance_transaction"].startswith("cbtxn_")
    metered = invoice.lines.get(kind="metered")
    assert metered.pretax_credit_amounts == [applied]
    assert invoice.lines.get(kind="licensed").pretax_credit_amounts == []

    def available():
        (balance,) = credit_balance_summary(
            customer_id=customer.pk, now=MAY1 + timedelta(days=2)
        )
        return balance.available

    assert available() == 0
    invoice_void(invoice=invoice, now=MAY1 + timedelta(days=1))
    assert available() == 1000
    assert grant.amount == 1000
