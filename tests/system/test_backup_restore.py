"""A backup restores: ``pg_dump -Fc`` of the test database, ``pg_restore`` into a
fresh database, and the books there add up, figure for figure, as they did
(docs/operations.md, the drill this test runs)."""

from __future__ import annotations

import shutil
import subprocess
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError, connection, connections, transaction

from billing.integrity import books_figures, books_problems
from billing.models import Invoice
from credits.models import CreditBalanceTransaction

pytestmark = [
    pytest.mark.skipif(
        not settings.IS_POSTGRES,
        reason="pg_dump/pg_restore back up PostgreSQL; the embedded SQLite default "
        "is copied with sqlite3's .backup (docs/operations.md)",
    ),
    pytest.mark.skipif(
        shutil.which("pg_dump") is None or shutil.which("pg_restore") is None,
        reason="pg_dump and pg_restore are not installed (apt-get install "
        "postgresql-client)",
    ),
]

RESTORED = "restored"


def _conninfo(name: str) -> str:
    source = connection.settings_dict
    parts = {
        "host": source.get("HOST") or "",
        "port": source.get("PORT") or "",
        "user": source.get("USER") or "",
        "password": source.get("PASSWORD") or "",
        "dbname": name,
    }
    return " ".join(f"{key}={value}" for key, value in parts.items() if value)


@pytest.fixture
def fresh_database(transactional_db):
    """An empty database beside the test database, reachable as ``restored``.

    Connected here, explicitly: Django's test case refuses a lazy first
    connection to a database it was not told about.
    """
    name = f"{connection.settings_dict['NAME']}_restored"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connections.settings[RESTORED] = {**connections.settings["default"], "NAME": name}
    connections[RESTORED].connect()
    yield name
    if hasattr(connections._connections, RESTORED):
        connections[RESTORED].close()
        delattr(connections._connections, RESTORED)
    del connections.settings[RESTORED]
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_a_dump_restores_into_a_fresh_database_with_the_same_books(
    tmp_path, fresh_database
):
    call_command("load_demo", stdout=StringIO())
    before = books_figures()
    finalized = [k for k, v in before.invoices.items() if v[0] != Invoice.Status.DRAFT]
    assert finalized
    assert before.grants
    assert books_problems(before) == []

    dump = tmp_path / "tally.dump"
    source = _conninfo(connection.settings_dict["NAME"])
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", source],
        check=True,
    )
    subprocess.run(
        [
            "pg_restore",
            "--no-owner",
            "--exit-on-error",
            f"--dbname={_conninfo(fresh_database)}",
            str(dump),
        ],
        check=True,
    )

    after = books_figures(using=RESTORED)
    assert after == before
    assert books_problems(after) == []
    out = StringIO()
    call_command("check_books", database=RESTORED, stdout=out)
    assert "0 problem(s)" in out.getvalue()
    # The immutability triggers came back with the schema.
    with pytest.raises(IntegrityError), transaction.atomic(using=RESTORED):
        Invoice._base_manager.using(RESTORED).filter(pk=finalized[0]).update(total=1)
    with pytest.raises(IntegrityError), transaction.atomic(using=RESTORED):
        CreditBalanceTransaction._base_manager.using(RESTORED).update(amount=1)
