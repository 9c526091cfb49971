"""Payments test fixtures: billing's invoice guards, as in tests/billing."""

from tests.billing.conftest import _django_db_helper, _guards_on

__all__ = ["_django_db_helper", "_guards_on"]
