"""Two requests claiming one lookup key at once: the database lets exactly one win."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connection

from catalog.models import Price
from catalog.services import price_create
from core.errors import InvalidRequest
from tests.catalog.factories import ProductFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.IS_POSTGRES, reason="needs PostgreSQL row locks"),
]


@pytest.mark.parametrize("transfer", [False, True])
def test_parallel_lookup_key_claims(transfer):
    product = ProductFactory()
    workers = 4
    barrier = threading.Barrier(workers)
    outcomes: list[str] = []

    def claim() -> None:
        try:
            barrier.wait()
            price_create(
                params={
                    "currency": "usd",
                    "product": product.pk,
                    "unit_amount": 100,
                    "lookup_key": "pro",
                    "transfer_lookup_key": transfer,
                }
            )
            outcomes.append("created")
        except InvalidRequest as error:
            outcomes.append(f"refused {error.param}")
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(outcomes) == workers
    holders = Price.objects.filter(lookup_key="pro", active=True)
    assert holders.count() == 1
    if not transfer:
        assert sorted(outcomes) == ["created"] + ["refused lookup_key"] * (workers - 1)
    else:
        # Each claim may take the key from the one before: at least one succeeds.
        assert "created" in outcomes
        assert set(outcomes) <= {"created", "refused lookup_key"}
        assert Price.objects.count() == outcomes.count("created")
