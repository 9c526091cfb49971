"""Fixtures the metering tests share: a meter of "tokens" events and a customer."""

import pytest

from tests.metering.factories import CustomerFactory, MeterFactory


@pytest.fixture
def meter(db):
    return MeterFactory(event_name="tokens")


@pytest.fixture
def customer(db):
    return CustomerFactory()
