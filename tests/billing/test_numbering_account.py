"""Account-level invoice numbering (``TALLY_INVOICE_NUMBERING=account``): one
gap-free sequence per mode for every customer, as Stripe's account-level option."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection, connections, transaction

from billing.models import Invoice, InvoiceNumberSequence
from billing.services import invoice_create, invoice_finalize, invoice_item_create
from core import modes
from core.models import Customer
from tests.billing.factories import CustomerFactory, PriceFactory

APR1 = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture
def account_numbering(settings):
    settings.TALLY_INVOICE_NUMBERING = "account"
    settings.TALLY_INVOICE_PREFIX = "ACME"


def draft_of(customer: Customer) -> Invoice:
    invoice = invoice_create(customer=customer, params={}, now=APR1)
    price = PriceFactory(one_time=True)
    invoice_item_create(
        customer=customer, params={"price": price, "invoice": invoice.pk}, now=APR1
    )
    return invoice


def number_of(customer: Customer) -> str:
    return invoice_finalize(invoice=draft_of(customer), now=APR1).number


@pytest.mark.django_db
def test_customers_share_one_sequence_and_keep_their_own(account_numbering):
    alice = CustomerFactory(invoice_prefix="ALICE")
    bob = CustomerFactory(invoice_prefix="BOB")
    numbers = [number_of(alice), number_of(bob), number_of(alice)]
    assert numbers == ["ACME-0001", "ACME-0002", "ACME-0003"]
    alice.refresh_from_db()
    assert alice.next_invoice_sequence == 1  # the customer's sequence is unused


@pytest.mark.django_db
def test_each_mode_has_its_own_sequence(account_numbering):
    assert number_of(CustomerFactory()) == "ACME-0001"
    with modes.scope(True):
        live = CustomerFactory()
        assert live.livemode
        assert number_of(live) == "ACME-0001"
    assert number_of(CustomerFactory()) == "ACME-0002"
    assert sorted(
        InvoiceNumberSequence.objects.values_list("livemode", "next_value")
    ) == [(False, 3), (True, 2)]


@pytest.mark.django_db
def test_customer_numbering_stays_the_default():
    customer = CustomerFactory(invoice_prefix="OWN")
    assert [number_of(customer), number_of(customer)] == ["OWN-0001", "OWN-0002"]
    assert not InvoiceNumberSequence.objects.exists()


@pytest.mark.django_db
def test_a_rolled_back_finalization_gives_its_number_back(account_numbering):
    customer = CustomerFactory()
    draft = draft_of(customer)

    def finalize_then_fail() -> None:
        with transaction.atomic():
            assert invoice_finalize(invoice=draft, now=APR1).number == "ACME-0001"
            raise RuntimeError("the finalization fails after numbering")

    with pytest.raises(RuntimeError):
        finalize_then_fail()
    assert number_of(customer) == "ACME-0001"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL"
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_finalizations_number_without_gaps_or_repeats(
    account_numbering,
):
    """Twelve customers finalize at once; every third finalization rolls back."""
    drafts = [draft_of(CustomerFactory()) for _ in range(12)]
    barrier = threading.Barrier(len(drafts))
    errors = []

    def finalize(index: int, invoice: Invoice) -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                invoice_finalize(invoice=invoice, now=APR1)
                if index % 3 == 0:
                    raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        except Exception as error:  # noqa: BLE001 - asserted below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=finalize, args=(index, draft))
        for index, draft in enumerate(drafts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors

    numbers = sorted(
        Invoice.objects.filter(number__isnull=False).values_list("number", flat=True)
    )
    assert numbers == [f"ACME-{n:04d}" for n in range(1, 9)]
    assert Invoice.objects.filter(status="draft").count() == 4
    sequence = InvoiceNumberSequence.objects.get(prefix="ACME", livemode=False)
    assert sequence.next_value == 9
