"""Factories for metering tests: customers and meters, created through the models."""

from __future__ import annotations

from datetime import UTC, datetime

import factory

from metering.models import Meter
from tests.core import factories as core_factories
from tests.core.factories import CustomerFactory as CustomerFactory


class TestClockFactory(core_factories.TestClockFactory):
    __test__ = False

    deletes_after = datetime(2026, 6, 1, tzinfo=UTC)


class MeterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Meter

    display_name = factory.Sequence(lambda n: f"Meter {n}")
    event_name = factory.Sequence(lambda n: f"event_{n}")
    formula = Meter.Formula.SUM
