"""Payments test fixtures: billing's invoice guards, as in tests/billing, and a way
to keep finalization from charging (tests that charge themselves)."""

import pytest

from billing.signals import invoices_finalized
from payments.receivers import on_invoices_finalized
from tests.billing.conftest import _django_db_helper, _guards_on

__all__ = ["_django_db_helper", "_guards_on"]


@pytest.fixture
def no_auto_collection():
    """Finalizing plans no charge: the test runs the attempts itself."""
    invoices_finalized.disconnect(dispatch_uid="payments.collect")
    yield
    invoices_finalized.connect(on_invoices_finalized, dispatch_uid="payments.collect")
