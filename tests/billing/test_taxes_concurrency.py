"""An edit of a tax rate and the first finalization that uses it never interleave:
the invoice is taxed at the percentage the rate keeps."""

import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from billing.models import Invoice, TaxRate
from billing.services import invoice_create, invoice_finalize, invoice_item_create
from billing.taxes.rates import tax_rate_create, tax_rate_update
from core.errors import InvalidRequest
from tests.billing.factories import CustomerFactory

APR1 = datetime(2026, 4, 1, tzinfo=UTC)


def draft_with(rate: TaxRate) -> Invoice:
    customer = CustomerFactory()
    invoice = invoice_create(
        customer=customer,
        params={"currency": "usd", "default_tax_rates": [rate.pk]},
        now=APR1,
    )
    invoice_item_create(
        customer=customer,
        params={"invoice": invoice.pk, "amount": 10000, "currency": "usd"},
        now=APR1,
    )
    return invoice


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL"
)
@pytest.mark.django_db(transaction=True)
def test_an_edit_in_flight_is_what_the_first_finalization_uses():
    rate = tax_rate_create(
        params={"display_name": "VAT", "percentage": Decimal(19), "inclusive": False},
        now=APR1,
    )
    invoice = draft_with(rate)
    edited, release = threading.Event(), threading.Event()
    errors: list[Exception] = []

    def edit():
        try:
            with transaction.atomic():
                tax_rate_update(rate=rate, params={"percentage": Decimal(20)})
                edited.set()
                release.wait(5)  # hold the rate's row lock a while
        except Exception as error:  # noqa: BLE001 - asserted below
            errors.append(error)
        finally:
            connections.close_all()

    def finalize():
        try:
            invoice_finalize(invoice=invoice, now=APR1)
        except Exception as error:  # noqa: BLE001 - asserted below
            errors.append(error)
        finally:
            connections.close_all()

    editor = threading.Thread(target=edit)
    editor.start()
    assert edited.wait(5)
    finalizer = threading.Thread(target=finalize)
    finalizer.start()
    time.sleep(0.3)  # the finalization reaches the rate and waits for its lock
    release.set()
    editor.join()
    finalizer.join()
    assert not errors, errors
    invoice.refresh_from_db()
    assert invoice.total == 12000  # the edited 20%, never the 19% read before it
    with pytest.raises(InvalidRequest):
        tax_rate_update(rate=rate, params={"percentage": Decimal(21)})
