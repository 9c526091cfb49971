"""Migration steps shared by the apps' migrations.

SQLite adds most columns by rebuilding the table (create a copy, move the rows,
drop the old table, rename the copy). The rebuild drops the table's triggers, and
a trigger elsewhere that names the table makes the rename fail ("no such table").
The database guards (frozen invoices, append-only ledgers) are such triggers, and
more of them are added over time, each migration knowing only those before it.

``sqlite_triggers_aside()`` gives the two steps that bracket a migration's schema
changes on SQLite: the first keeps the SQL of every trigger in the database in a
small table and drops them; the second makes them again and empties the table.
Whatever triggers exist when the migration runs (any app's, any version) come
back as they were. On other databases both steps do nothing: PostgreSQL adds
columns in place and keeps its triggers.
"""

from __future__ import annotations

from django.db import migrations

_STASH = "tally_trigger_stash"


def _set_aside(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {_STASH} (name TEXT, sql TEXT)")
        cursor.execute(
            f"INSERT INTO {_STASH} (name, sql) SELECT name, sql FROM sqlite_master"
            " WHERE type = 'trigger'"
        )
        cursor.execute(f"SELECT name FROM {_STASH}")
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')


def _put_back(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {_STASH} (name TEXT, sql TEXT)")
        cursor.execute(f"SELECT name, sql FROM {_STASH}")
        for name, sql in cursor.fetchall():
            cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')
            cursor.execute(sql)
        cursor.execute(f"DROP TABLE {_STASH}")


def sqlite_triggers_aside() -> tuple[migrations.RunPython, migrations.RunPython]:
    """The steps to put first and last in a migration that rebuilds tables."""
    return (
        migrations.RunPython(_set_aside, _put_back),
        migrations.RunPython(_put_back, _set_aside),
    )
