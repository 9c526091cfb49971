"""A decimal model field that stays exact on every database."""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class ExactDecimalField(models.DecimalField):
    """A ``Decimal`` stored exactly: ``numeric`` on PostgreSQL, exact text on SQLite.

    SQLite's NUMERIC affinity keeps decimals as binary floats (15 significant digits),
    so a unit price such as ``1234.567890123456`` minor units would come back changed.
    On SQLite the value is kept as its decimal string instead; comparisons with zero in
    check constraints still hold there, since a non-negative decimal string sorts at or
    after ``'0'`` and a negative one (``'-…'``) before it.
    """

    def get_internal_type(self) -> str:
        # Not "DecimalField": that name makes the SQLite backend read values as floats.
        return "ExactDecimalField"

    def db_type(self, connection) -> str:
        if connection.vendor == "sqlite":
            return "text"
        return f"numeric({self.max_digits}, {self.decimal_places})"

    def get_db_prep_value(self, value, connection, prepared=False):
        value = super().get_db_prep_value(value, connection, prepared)
        if connection.vendor == "sqlite" and isinstance(value, Decimal):
            return format(value, "f")
        return value

    def from_db_value(self, value, expression, connection):
        if value is None or isinstance(value, Decimal):
            return value
        return Decimal(str(value))
