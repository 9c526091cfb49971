"""Billing test fixtures."""

import pytest

from billing import db


@pytest.fixture
def _django_db_helper(_django_db_helper):
    """Let SQLite empty finalized invoices after a test (PostgreSQL truncates).

    pytest-django empties the database of a transactional test when its database
    helper ends, which is just after this wrapper ends: the guard switch is turned
    off here, and back on when the next test starts.
    """
    db.restore_guards()
    yield _django_db_helper
    db.suspend_guards()


@pytest.fixture(autouse=True)
def _guards_on():
    db.restore_guards()
