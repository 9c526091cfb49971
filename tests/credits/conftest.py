"""Fixtures of the credits API tests."""

from __future__ import annotations

import pytest
import time_machine

from tests.credits.factories import T0, CustomerFactory


@pytest.fixture
def frozen():
    """Real time stands still at T0 (the API reads the clock itself)."""
    with time_machine.travel(T0, tick=False):
        yield T0


@pytest.fixture
def customer(frozen):
    return CustomerFactory()
