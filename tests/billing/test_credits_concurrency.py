"""Two invoices of one customer finalizing at once never overdraw a credit grant."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections

from billing.models import Invoice
from billing.services import (
    invoice_finalize,
    subscription_create,
    subscriptions_close_due,
)
from credits.models import CreditBalanceTransaction, CreditGrant
from credits.selectors import credit_balance_summary
from credits.services import credit_grant_create
from tests.billing.factories import CustomerFactory, PriceFactory, record_usage

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL"
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_finalizations_share_one_grant_without_overdraft():
    customer = CustomerFactory(name="Jenny Rosen")
    grant = credit_grant_create(
        customer=customer, value=2_000, currency="usd", now=APR1, name="20 USD"
    )
    drafts = []
    for _ in range(2):
        tokens = PriceFactory(metered=True, unit_amount_decimal=Decimal(3))
        subscription_create(
            customer=customer, params={"items": [{"price": tokens.pk}]}, now=APR1
        )
        record_usage(
            meter=tokens.recurring_meter,
            customer=customer,
            value=500,  # 500 tokens × 0.03 USD = 15.00 per invoice
            at=APR1 + timedelta(days=2),
        )
    subscriptions_close_due(now=MAY1)
    drafts = list(
        Invoice.objects.filter(customer=customer, billing_reason="subscription_cycle")
    )
    assert [d.subtotal for d in drafts] == [1500, 1500]

    errors = []
    barrier = threading.Barrier(len(drafts))

    def finalize(invoice):
        try:
            barrier.wait()
            invoice_finalize(invoice=invoice, now=MAY1 + timedelta(hours=1))
        except Exception as error:  # noqa: BLE001 - asserted below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=finalize, args=(d,)) for d in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors

    invoices = list(Invoice.objects.filter(pk__in=[d.pk for d in drafts]))
    credited = sorted(
        sum(entry["amount"] for entry in invoice.total_pretax_credit_amounts)
        for invoice in invoices
    )
    assert credited == [500, 1500]  # 20.00 of credits, never more
    assert sorted(invoice.total for invoice in invoices) == [0, 1000]
    grant = CreditGrant.objects.get(pk=grant.pk)
    assert grant.balance == 0
    debits = CreditBalanceTransaction.objects.filter(credit_grant=grant, type="debit")
    assert sum(row.amount for row in debits) == 2_000
    (balance,) = credit_balance_summary(
        customer_id=customer.pk, now=MAY1 + timedelta(days=1)
    )
    assert balance.available == 0
