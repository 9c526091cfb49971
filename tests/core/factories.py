"""Factories for core objects, shared by every app's tests."""

from __future__ import annotations

from datetime import UTC, datetime

import factory

from core.models import Customer, TestClock


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    invoice_prefix = factory.Sequence(lambda n: f"CUS{n:06d}")


class TestClockFactory(factory.django.DjangoModelFactory):
    __test__ = False

    class Meta:
        model = TestClock

    frozen_time = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    deletes_after = datetime(2027, 1, 1, tzinfo=UTC)
