"""The demo data: Jenny Rosen's 10 USD and Northwind's 120,000 USD; idempotent."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command

from credits.models import CreditGrant

pytestmark = pytest.mark.django_db


def test_demo_grants_load_once():
    call_command("load_demo", stdout=io.StringIO())
    call_command("load_demo", stdout=io.StringIO())
    jenny = CreditGrant.objects.get(customer__email="jenny.rosen@example.com")
    assert (jenny.amount, jenny.currency, jenny.category) == (
        1_000,
        "usd",
        "promotional",
    )
    assert (jenny.expires_at, jenny.balance) == (None, 1_000)
    northwind = CreditGrant.objects.get(customer__email="billing@northwind.example")
    assert (northwind.amount, northwind.category) == (12_000_000, "paid")
    assert northwind.expires_at - northwind.effective_at == timedelta(days=365)
    assert CreditGrant.objects.count() == 2
