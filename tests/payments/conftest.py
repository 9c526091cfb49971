"""Payments test fixtures: a way to keep finalization from charging (tests that
charge themselves). Billing's invoice guards come from the root conftest."""

import pytest

from billing.signals import invoices_finalized
from payments.receivers import on_invoices_finalized


@pytest.fixture
def no_auto_collection():
    """Finalizing plans no charge: the test runs the attempts itself."""
    invoices_finalized.disconnect(dispatch_uid="payments.collect")
    yield
    invoices_finalized.connect(on_invoices_finalized, dispatch_uid="payments.collect")
