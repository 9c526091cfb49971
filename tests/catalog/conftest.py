"""Fixtures of the catalog tests."""

from __future__ import annotations

import pytest

from tests.catalog.factories import MeterFactory


@pytest.fixture
def meter(db):
    """An active meter for metered prices."""
    return MeterFactory(display_name="API tokens", event_name="api_tokens")


@pytest.fixture
def product(api) -> dict:
    return api.post("/v1/products", {"name": "Hypernian"}).json()
