"""``core.bulk``: many rows in one statement, values exactly as saved one by one."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_init

from billing.models import Invoice, InvoiceLineItem
from billing.services import invoice_create, invoice_finalize
from core.bulk import bulk_insert, bulk_save, new_row
from tests.billing.factories import CustomerFactory

APR1 = datetime(2026, 4, 1, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft():
    return invoice_create(customer=CustomerFactory(), params={}, now=APR1)


def line(invoice, position: int, **values) -> InvoiceLineItem:
    return InvoiceLineItem(
        invoice=invoice,
        position=position,
        kind="invoice_item",
        amount=values.pop("amount", 100),
        currency="usd",
        period_start=APR1,
        period_end=APR1,
        created=APR1,
        **values,
    )


def test_inserted_rows_read_back_exactly(draft):
    rows = [
        line(
            draft,
            0,
            description='Say "hello", \\ {and} [bye]',
            quantity=Decimal("1234567.000000000001"),
            unit_amount_decimal=Decimal("0.333333333333"),
            metadata={"note": 'a "quoted" {value}', "list": [1, 2]},
        ),
        line(draft, 1, description="", quantity=None, proration_details=None),
    ]

    bulk_insert(rows)

    stored = {row.position: row for row in draft.lines.all()}
    assert stored[0].description == 'Say "hello", \\ {and} [bye]'
    assert stored[0].quantity == Decimal("1234567.000000000001")
    assert stored[0].unit_amount_decimal == Decimal("0.333333333333")
    assert stored[0].metadata == {"note": 'a "quoted" {value}', "list": [1, 2]}
    assert (stored[1].description, stored[1].quantity) == ("", None)
    assert not any(row._state.adding for row in rows)


def test_saved_fields_change_and_the_others_stay(draft):
    rows = [line(draft, position) for position in range(3)]
    bulk_insert(rows)
    for position, row in enumerate(rows):
        row.amount = -position
        row.description = f'line "{position}"'
        row.pretax_credit_amounts = [{"amount": position, "type": "credit"}]
        row.currency = "eur"  # not saved below

    bulk_save(rows, ["amount", "description", "pretax_credit_amounts"])

    stored = list(draft.lines.order_by("position"))
    assert [row.amount for row in stored] == [0, -1, -2]
    assert [row.description for row in stored] == [
        'line "0"',
        'line "1"',
        'line "2"',
    ]
    assert stored[2].pretax_credit_amounts == [{"amount": 2, "type": "credit"}]
    assert {row.currency for row in stored} == {"usd"}


def test_the_database_still_guards_finalized_invoices(draft):
    bulk_insert([line(draft, 0)])
    invoice = invoice_finalize(invoice=draft, now=APR1)
    invoice.total = 1

    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_save([invoice], ["total"])
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert([line(invoice, 1)])
    assert Invoice.objects.get(pk=invoice.pk).total == 100


def _fields(row) -> dict:
    values = {f.attname: getattr(row, f.attname) for f in type(row)._meta.fields}
    values.pop("id")  # a new random id each
    return values


def test_a_new_row_is_what_the_constructor_builds(draft):
    values = {
        "invoice": draft,
        "position": 0,
        "kind": "metered",
        "amount": 1234,
        "currency": "usd",
        "period_start": APR1,
        "period_end": APR1,
        "quantity": Decimal("1.5"),
        "metadata": {"a": "b"},
        "tax_rates": ["txr_1"],
        "created": APR1,
    }

    fast, slow = new_row(InvoiceLineItem, **values), InvoiceLineItem(**values)

    assert _fields(fast) == _fields(slow)
    assert fast.id.startswith("il_")
    assert fast.id != slow.id
    assert fast.invoice is draft  # cached as the descriptor caches it: no query
    assert fast._state.adding
    assert fast._state.db is None
    assert fast.pretax_credit_amounts == []
    assert fast.pretax_credit_amounts is not (
        new_row(InvoiceLineItem, **values).pretax_credit_amounts
    )
    bulk_insert([fast])
    assert _fields(InvoiceLineItem.objects.get(pk=fast.pk)) == _fields(fast)


def test_a_new_row_takes_keys_and_refuses_unknown_fields(draft):
    row = new_row(InvoiceLineItem, invoice_id=draft.pk, position=0, created=APR1)
    assert row.invoice_id == draft.pk

    with pytest.raises(TypeError, match="nonsense"):
        new_row(InvoiceLineItem, invoice=draft, nonsense=1)


def test_a_new_row_of_a_model_with_init_receivers_runs_them(draft):
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=InvoiceLineItem)
    try:
        row = new_row(InvoiceLineItem, invoice=draft, position=0, created=APR1)
    finally:
        post_init.disconnect(receiver, sender=InvoiceLineItem)

    assert seen == [row]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="lz4 is PostgreSQL's compression"
)
def test_event_snapshots_are_compressed_with_lz4():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attcompression FROM pg_attribute "
            "WHERE attrelid = 'core_event'::regclass AND attname = 'data'"
        )
        assert cursor.fetchone() == ("l",)
