"""Alerts test fixtures: threshold tests finalize invoices, as billing's do."""

import pytest

from billing import db


@pytest.fixture
def _django_db_helper(_django_db_helper):
    """Let SQLite empty finalized invoices after a transactional test."""
    db.restore_guards()
    yield _django_db_helper
    db.suspend_guards()


@pytest.fixture(autouse=True)
def _guards_on():
    db.restore_guards()
