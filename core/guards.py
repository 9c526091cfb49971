"""The switch SQLite's immutability triggers ask before refusing a change.

Finalized invoices (billing) and the credit ledger (credits) are immutable in the
database: triggers on PostgreSQL and SQLite. SQLite has no way to set a trigger
aside, and a test database is emptied there with row-by-row ``DELETE`` (PostgreSQL
truncates, which fires no row trigger), so SQLite's triggers also ask
``tally_guards_active()``, a function registered on each connection.
``suspend_guards`` turns it off for that one purpose; no service uses it.
"""

from __future__ import annotations

from django.db.backends.signals import connection_created

_suspended = False


def guards_active() -> int:
    return 0 if _suspended else 1


def suspend_guards() -> None:
    """Suspend the guards until ``restore_guards`` (fixtures that wrap a flush)."""
    global _suspended
    _suspended = True


def restore_guards() -> None:
    global _suspended
    _suspended = False


def _register(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("tally_guards_active", 0, guards_active)


connection_created.connect(_register, dispatch_uid="tally_guards_active")
