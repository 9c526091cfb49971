"""Invoices of one customer finalizing at once never overdraw a grant (PostgreSQL).

Each thread is a finalization: its own transaction that applies credits and then
keeps working a moment before committing, as billing does, so the runs overlap.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import connection, transaction

from credits import selectors
from credits.models import CreditBalanceTransaction, CreditGrant
from credits.services import (
    credit_grants_process_due,
    credits_apply_to_invoice,
    credits_reinstate_for_invoice,
)
from tests.credits.factories import T0, CustomerFactory, line, make_grant

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.IS_POSTGRES, reason="row locks need PostgreSQL (SQLite has none)"
    ),
]

THREADS = 8


def _in_threads(work, count: int = THREADS) -> list:
    barrier = threading.Barrier(count)

    def run(index):
        try:
            barrier.wait()
            return work(index)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def _finalize(customer_id: str, index: int) -> int:
    with transaction.atomic():
        applications = credits_apply_to_invoice(
            customer_id=customer_id,
            invoice_id=f"in_{index}",
            lines=[line(f"il_{index}_a", 400), line(f"il_{index}_b", 300)],
            now=T0,
        )
        # The rest of the finalization (numbering, totals) holds the transaction.
        CreditGrant.objects.filter(customer_id=customer_id).count()
        return sum(application.amount for application in applications)


def test_concurrent_finalizations_never_overdraw():
    customer = CustomerFactory()
    first = make_grant(customer, 1000, priority=0)
    second = make_grant(customer, 1500)
    applied = _in_threads(lambda index: _finalize(customer.pk, index))

    # 8 invoices of 700 want 5,600; the grants hold 2,500: exactly that is spent.
    assert sum(applied) == 2500
    assert sorted(applied, reverse=True)[:4] == [700, 700, 700, 400]
    for grant in (first, second):
        grant.refresh_from_db()
        assert grant.balance == 0
    entries = CreditBalanceTransaction.objects.filter(kind="credits_applied")
    assert sum(entry.amount for entry in entries) == 2500
    summary = selectors.credit_balance_summary(customer_id=customer.pk, now=T0)
    assert [(b.available, b.ledger) for b in summary] == [(0, 0)]


def test_concurrent_reinstatements_of_one_invoice_happen_once():
    customer = CustomerFactory()
    grant = make_grant(customer, 1000)
    credits_apply_to_invoice(
        customer_id=customer.pk,
        invoice_id="in_1",
        lines=[line("il_1", 600)],
        now=T0,
    )
    results = _in_threads(
        lambda index: credits_reinstate_for_invoice(invoice_id="in_1", now=T0)
    )
    assert all(result == results[0] for result in results)
    grant.refresh_from_db()
    assert grant.balance == 1000
    assert (
        grant.transactions.filter(kind="credits_application_invoice_voided").count()
        == 1
    )


def test_expiry_job_twice_in_parallel_posts_once():
    customer = CustomerFactory()
    grants = [
        make_grant(customer, 1000, expires_at=T0.replace(hour=13)) for _ in range(5)
    ]
    later = T0.replace(hour=14)
    _in_threads(lambda index: credit_grants_process_due(now=later), count=4)
    credit_grants_process_due(now=later)
    for grant in grants:
        grant.refresh_from_db()
        assert (grant.status, grant.balance) == ("expired", 0)
        assert grant.transactions.filter(kind="credits_expired").count() == 1
