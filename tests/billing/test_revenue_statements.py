"""Statements that write many invoices at once (finalize's chunk, a bulk insert,
the ORM's delete) leave the kept revenue months (PostgreSQL's statement
triggers, ``billing`` 0022) equal to a recount of the invoices from scratch."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import Invoice, InvoiceLineItem, RevenueMonth, UsageRevenueMonth
from billing.revenue import INVOICED, USAGE_KINDS
from core.bulk import bulk_insert, bulk_save
from tests.catalog.factories import PriceFactory
from tests.core.factories import CustomerFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the triggers are PostgreSQL's"
    ),
]

MONTHS = [
    None,
    *(datetime(2026, m, d, 12, tzinfo=UTC) for m, d in ((10, 31), (11, 3), (12, 1))),
]
STATUSES = ["draft", "open", "paid", "uncollectible", "void"]

# An invoice's place and figures: what a statement may set on it.
states = st.fixed_dictionaries(
    {
        "customer": st.integers(0, 2),  # usd test, eur test, usd live
        "status": st.sampled_from(STATUSES),
        "finalized_at": st.sampled_from(MONTHS),
        "paid_at": st.sampled_from(MONTHS),
        "total": st.integers(-500, 5_000),
        "amount_paid": st.integers(0, 5_000),
        "amount_remaining": st.integers(0, 5_000),
    }
)
lines = st.lists(
    st.tuples(
        st.sampled_from(["metered", "late_usage", "licensed"]),
        st.sampled_from([0, 1, None]),  # product, or none
        st.integers(-300, 3_000),
    ),
    max_size=3,
)
invoices = st.lists(
    st.fixed_dictionaries(
        {"inserted": states, "lines": lines, "updates": st.lists(states, max_size=2)}
    ),
    min_size=1,
    max_size=8,
)


def _month(at: datetime) -> date:
    return at.date().replace(day=1)


def _nonzero(counter: Counter) -> dict:
    return {key: amount for key, amount in counter.items() if amount}


def _recount() -> tuple[dict, dict]:
    """The figures of every invoice, summed in Python."""
    revenue, usage = Counter(), Counter()
    for row in Invoice.objects.values():
        currency, mode, finalized = (
            row["currency"],
            row["livemode"],
            row["finalized_at"],
        )
        if row["status"] in INVOICED and finalized:
            revenue[mode, "invoiced", _month(finalized), currency] += row["total"]
        if row["status"] == "paid" and row["paid_at"]:
            key = (mode, "collected", _month(row["paid_at"]), currency)
            revenue[key] += row["amount_paid"]
        if row["status"] == "open" and finalized:
            revenue[mode, "open", _month(finalized), currency] += row[
                "amount_remaining"
            ]
    for line in InvoiceLineItem.objects.filter(
        kind__in=USAGE_KINDS,
        invoice__status__in=INVOICED,
        invoice__finalized_at__isnull=False,
    ).values(
        "amount",
        "currency",
        "price__product_id",
        "invoice__livemode",
        "invoice__finalized_at",
        "invoice__customer_id",
    ):
        place = (line["invoice__livemode"], _month(line["invoice__finalized_at"]))
        product = line["price__product_id"] or ""
        customer = line["invoice__customer_id"]
        usage[(*place, "product", product, line["currency"])] += line["amount"]
        usage[(*place, "customer", customer, line["currency"])] += line["amount"]
    return _nonzero(revenue), _nonzero(usage)


def _kept() -> tuple[dict, dict]:
    revenue, usage = Counter(), Counter()
    for row in RevenueMonth._base_manager.all():
        revenue[row.livemode, row.kind, row.month, row.currency] += row.amount
    for row in UsageRevenueMonth._base_manager.all():
        key = (row.livemode, row.month, row.dimension, row.key, row.currency)
        usage[key] += row.amount
    return _nonzero(revenue), _nonzero(usage)


def _apply(invoice: Invoice, state: dict, customers) -> None:
    customer = customers[state["customer"]]
    invoice.customer_id = customer.pk
    invoice.currency = customer.currency or "usd"
    invoice.livemode = customer.livemode
    for field in ("status", "finalized_at", "paid_at", "total"):
        setattr(invoice, field, state[field])
    invoice.amount_paid = state["amount_paid"]
    invoice.amount_remaining = state["amount_remaining"]


def _statements(plans, customers, prices) -> None:
    """Insert the invoices (drafts take lines), update them a statement per round,
    delete half of them: every write one multi-row statement."""
    rows = []
    for plan in plans:
        invoice = Invoice(
            billing_reason="manual",
            collection_method="send_invoice",
            period_start=MONTHS[1],
            period_end=MONTHS[1],
        )
        state = plan["inserted"]
        _apply(
            invoice,
            state if plan["lines"] == [] else {**state, "status": "draft"},
            customers,
        )
        rows.append(invoice)
    bulk_insert(rows)
    bulk_insert(
        [
            InvoiceLineItem(
                invoice=invoice,
                position=position,
                kind=kind,
                amount=amount,
                currency=invoice.currency,
                period_start=MONTHS[1],
                period_end=MONTHS[1],
                price=None if product is None else prices[product],
                created=MONTHS[1],
                livemode=invoice.livemode,
            )
            for invoice, plan in zip(rows, plans, strict=True)
            for position, (kind, product, amount) in enumerate(plan["lines"])
        ]
    )
    for round in range(2):
        moved = []
        for invoice, plan in zip(rows, plans, strict=True):
            if round < len(plan["updates"]):
                _apply(invoice, plan["updates"][round], customers)
                moved.append(invoice)
        bulk_save(
            moved,
            [
                "customer",
                "currency",
                "livemode",
                "status",
                "finalized_at",
                "paid_at",
                "total",
                "amount_paid",
                "amount_remaining",
            ],
        )
        assert _kept() == _recount()
    # The ORM's cascade: the lines in one statement, then the invoices in one.
    Invoice.objects.filter(pk__in=[invoice.pk for invoice in rows[::2]]).delete()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(plans=invoices)
def test_multi_row_statements_keep_the_months_a_recount_finds(plans):
    with transaction.atomic():
        with connection.cursor() as cursor:  # any move, however the guards judge it
            cursor.execute(
                "ALTER TABLE billing_invoice DISABLE TRIGGER billing_invoice_guard"
            )
            cursor.execute(
                "ALTER TABLE billing_invoicelineitem"
                " DISABLE TRIGGER billing_invoice_line_guard"
            )
        customers = [
            CustomerFactory(),
            CustomerFactory(currency="eur"),
            CustomerFactory(livemode=True),
        ]
        prices = [PriceFactory(metered=True), PriceFactory(metered=True)]
        _statements(plans, customers, prices)
        assert _kept() == _recount()
        transaction.set_rollback(True)


def test_a_chunk_of_finalized_invoices_is_one_upsert_per_statement():
    """Five invoices finalized in one statement add one row per month figure."""
    customer = CustomerFactory()
    rows = [
        Invoice(
            customer=customer,
            status="draft",
            billing_reason="manual",
            collection_method="send_invoice",
            currency="usd",
            period_start=MONTHS[1],
            period_end=MONTHS[1],
            total=100 * (index + 1),
            amount_due=100 * (index + 1),
            amount_remaining=100 * (index + 1),
        )
        for index in range(5)
    ]
    bulk_insert(rows)
    for invoice in rows:
        invoice.status, invoice.finalized_at = "open", MONTHS[2]
    bulk_save(rows, ["status", "finalized_at"])
    kinds = RevenueMonth._base_manager.values_list("kind", "amount")
    assert sorted(kinds) == [("invoiced", 1_500), ("open", 1_500)]
