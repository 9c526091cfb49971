"""The revenue months a trigger keeps (PostgreSQL) agree with the invoices summed,
whatever happens to an invoice: finalized, paid, voided, written_off, deleted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from billing import revenue
from billing.models import Invoice, RevenueMonth
from billing.selectors import customer_open_total
from core import modes
from tests.core.factories import CustomerFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the trigger is PostgreSQL's"
    ),
]

NOV = datetime(2026, 11, 3, tzinfo=UTC)
DEC = datetime(2026, 12, 2, tzinfo=UTC)
SINCE = datetime(2026, 1, 1, tzinfo=UTC)


def _draft(customer, total: int) -> Invoice:
    return Invoice.objects.create(
        customer=customer,
        status="draft",
        billing_reason="manual",
        collection_method="send_invoice",
        currency=customer.currency or "usd",
        period_start=NOV,
        period_end=NOV,
        total=total,
        amount_due=total,
        amount_remaining=total,
        livemode=customer.livemode,
    )


def _move(invoice: Invoice, **fields) -> None:
    Invoice.objects.filter(pk=invoice.pk).update(**fields)


def _figures():
    return [
        (row.month, row.currency, row.invoiced, row.collected)
        for row in revenue.revenue_by_month(since=SINCE)
    ]


def _summed():
    return [
        (month, currency, amounts[0], amounts[1])
        for (month, currency), amounts in sorted(revenue._summed(SINCE).items())
        if any(amounts)
    ]


def test_every_change_of_an_invoice_moves_its_months():
    ada, euro = CustomerFactory(), CustomerFactory(currency="eur")
    paid, voided, written_off = (
        _draft(ada, 10_000),
        _draft(ada, 2_500),
        _draft(euro, 700),
    )
    for invoice in (paid, voided, written_off):
        _move(invoice, status="open", finalized_at=NOV)
    _move(paid, status="paid", amount_paid=10_000, amount_remaining=0, paid_at=DEC)
    _move(voided, status="void")
    _move(written_off, status="uncollectible")
    nov, dec = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    assert _figures() == [
        (nov, "eur", 700, 0),
        (nov, "usd", 10_000, 0),
        (dec, "usd", 0, 10_000),
    ]
    assert _figures() == _summed()
    assert revenue.open_amounts() == customer_open_total() == {}
    _move(_draft(ada, 1_234), status="open", finalized_at=DEC, amount_remaining=1_234)
    assert revenue.open_amounts() == customer_open_total() == {"usd": 1_234}
    assert revenue.invoiced_in_month(month=datetime(2026, 12, 1, tzinfo=UTC)) == {
        "usd": 1_234
    }


def test_rebuild_counts_what_the_trigger_counted():
    customer = CustomerFactory()
    invoice = _draft(customer, 4_200)
    _move(invoice, status="paid", finalized_at=NOV, amount_paid=4_200, paid_at=DEC)
    kept = _figures()
    revenue.revenue_months_rebuild()
    assert _figures() == kept == _summed()


def test_each_mode_reads_its_own_months():
    live, test = CustomerFactory(livemode=True), CustomerFactory(livemode=False)
    _move(_draft(live, 500), status="open", finalized_at=NOV)
    _move(_draft(test, 300), status="open", finalized_at=NOV)
    with modes.scope(True):
        assert [row[2] for row in _figures()] == [500]
    with modes.scope(False):
        assert [row[2] for row in _figures()] == [300]
    assert RevenueMonth.objects.filter(livemode=True, kind="invoiced").count() == 1


def test_usage_per_product_and_customer_follow_finalize_and_void():
    from datetime import timedelta

    from billing.models import InvoiceLineItem
    from tests.catalog.factories import PriceFactory

    ada, grace = CustomerFactory(name="Ada"), CustomerFactory(name="Grace")
    price = PriceFactory(metered=True)
    invoices = []
    for customer, amount in ((ada, 300), (grace, 500), (grace, 40)):
        invoice = _draft(customer, amount)
        InvoiceLineItem.objects.create(
            invoice=invoice,
            position=0,
            kind="metered",
            amount=amount,
            currency="usd",
            period_start=NOV,
            period_end=NOV,
            price=price,
            created=NOV,
        )
        _move(invoice, status="open", finalized_at=DEC)
        invoices.append(invoice)
    _move(invoices[2], status="void")
    start, end = datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    just_before = end - timedelta(microseconds=1)  # not a month: the lines summed
    for upto in (end, just_before):
        top = revenue.top_customers_by_usage(start=start, end=upto, limit=5)
        assert [(row.name, row.amount) for row in top] == [("Grace", 500), ("Ada", 300)]
        products = revenue.usage_revenue_by_product(start=start, end=upto)
        assert [(row.key, row.amount) for row in products] == [(price.product_id, 800)]
    revenue.revenue_months_rebuild()
    top = revenue.top_customers_by_usage(start=start, end=end, limit=5)
    assert [(row.name, row.amount) for row in top] == [("Grace", 500), ("Ada", 300)]


def test_a_test_clock_invoice_deleted_takes_its_revenue_and_usage_along():
    from billing.models import InvoiceLineItem
    from tests.catalog.factories import PriceFactory
    from tests.core.factories import TestClockFactory

    clock = TestClockFactory()
    customer = CustomerFactory(name="Clocked", test_clock=clock)
    invoice = _draft(customer, 900)
    Invoice.objects.filter(pk=invoice.pk).update(test_clock=clock)
    InvoiceLineItem.objects.create(
        invoice=invoice,
        position=0,
        kind="metered",
        amount=900,
        currency="usd",
        period_start=NOV,
        period_end=NOV,
        price=PriceFactory(metered=True),
        created=NOV,
    )
    _move(invoice, status="open", finalized_at=DEC)
    start, end = datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    assert [
        row.amount
        for row in revenue.top_customers_by_usage(start=start, end=end, limit=3)
    ] == [900]
    Invoice.objects.filter(pk=invoice.pk).delete()  # lines first, as the ORM does
    assert revenue.top_customers_by_usage(start=start, end=end, limit=3) == []
    assert revenue.usage_revenue_by_product(start=start, end=end) == []
    assert _figures() == []
    assert revenue.open_amounts() == {}
