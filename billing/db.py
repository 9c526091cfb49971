"""The database guards of finalized invoices, and how SQLite reaches them.

PostgreSQL and SQLite refuse changes to finalized invoices in triggers (migration
0002). SQLite's triggers ask ``billing_guards_active()``, which follows the one
switch of ``core.guards`` (read there why it exists); no service uses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db.backends.signals import connection_created

from core.guards import guards_active, restore_guards, suspend_guards

__all__ = ["guards_active", "guards_suspended", "restore_guards", "suspend_guards"]


@contextmanager
def guards_suspended() -> Iterator[None]:
    """Let SQLite delete finalized invoices (emptying a test database)."""
    suspend_guards()
    try:
        yield
    finally:
        restore_guards()


def _register(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("billing_guards_active", 0, guards_active)


connection_created.connect(_register, dispatch_uid="billing_guards_active")
