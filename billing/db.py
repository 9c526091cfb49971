"""The database guards of finalized invoices, and how SQLite reaches them.

PostgreSQL and SQLite refuse changes to finalized invoices in triggers (migration
0002). SQLite has no way to set a trigger aside, and a test database is emptied
with row-by-row ``DELETE`` (PostgreSQL truncates, which fires no row trigger), so
SQLite's triggers also ask ``billing_guards_active()``, a function registered on
each connection. ``guards_suspended`` turns it off for that one purpose; no
service uses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db.backends.signals import connection_created

_suspended = False


def guards_active() -> int:
    return 0 if _suspended else 1


@contextmanager
def guards_suspended() -> Iterator[None]:
    """Let SQLite delete finalized invoices (emptying a test database)."""
    global _suspended
    _suspended = True
    try:
        yield
    finally:
        _suspended = False


def suspend_guards() -> None:
    """Suspend the guards until ``restore_guards`` (fixtures that wrap a flush)."""
    global _suspended
    _suspended = True


def restore_guards() -> None:
    global _suspended
    _suspended = False


def _register(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("billing_guards_active", 0, guards_active)


connection_created.connect(_register, dispatch_uid="billing_guards_active")
