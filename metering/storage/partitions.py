"""Meter events partitioned by month of ``timestamp`` (PostgreSQL, optional).

``convert`` turns the one events table into a table partitioned by range of the
event's ``timestamp``, one partition per UTC month plus a default partition for
events outside every month made so far (test clocks may run years ahead). It
runs in the caller's transaction, holding the table's ACCESS EXCLUSIVE lock
throughout: ingestion waits, readers wait, and a failure leaves the table as it
was. Every id, the id sequence and every index survive; rows are copied once.

What partitioning changes, and why it stays exact:

- **Dedupe.** A partitioned table's unique keys must include the partition key,
  and ``timestamp`` is no part of an event's identity: the same identifier sent
  again with another timestamp is still a duplicate. So the
  ``(livemode, event_name, identifier)`` key moves to ``MeterEventKey``, an
  unpartitioned table every write path fills in the same statement or
  transaction as the event (``metering.storage.postgres``).
- **Primary key.** ``(id, timestamp)``; ids still come from the one sequence, so
  ``id`` alone stays unique.
- **Foreign keys to events** (the cancellation's ``event_id``) lose their database
  constraint, as events' own foreign keys have none: the cancel service checks
  the event.
- **The watermark** (``metering.storage.watermark``) reads write locks on the
  parent table: an ``INSERT`` locks the table it names at parse time, and the
  ``COPY`` path locks the parent (``LOCK TABLE ONLY``) before drawing ids.

``partitions_ensure`` (Beat) creates the months ahead; a month whose rows wait
in the default partition (a test clock's) takes them along when it is made.
``partition_detach`` hands a month to the archive rule in ``billing.retention``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from metering.models import MeterEvent, MeterEventAdjustment, MeterEventKey
from metering.storage.rows import quote

# Months made ahead of the current one by ``partitions_ensure``.
MONTHS_AHEAD = 3
# Events may arrive this long after their timestamp
# (``metering.services.validation.MAX_PAST``): their months are made too.
LATE_ARRIVALS = timedelta(days=35)
# DDL on the events table queues every writer behind it: give up instead.
LOCK_TIMEOUT = "5s"
_PARTITION = re.compile(r"_p(\d{4})_(\d{2})$")


@dataclass(frozen=True)
class Partition:
    """One month's partition: its table and its UTC month ``[start, end)``."""

    table: str
    start: datetime
    end: datetime


def _table() -> str:
    return MeterEvent._meta.db_table


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def partition_name(start: datetime) -> str:
    return f"{_table()}_p{start.year:04d}_{start.month:02d}"


def default_partition() -> str:
    return f"{_table()}_pdefault"


def is_partitioned() -> bool:
    """Whether the events table is partitioned (never on SQLite)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relkind = 'p' FROM pg_class WHERE oid = %s::regclass",
            [quote(_table())],
        )
        return bool(cursor.fetchone()[0])


def partitions() -> list[Partition]:
    """The month partitions, oldest first (not the default partition)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT child.relname FROM pg_inherits"
            " JOIN pg_class child ON child.oid = inhrelid"
            " WHERE inhparent = %s::regclass",
            [quote(_table())],
        )
        found = []
        for (name,) in cursor.fetchall():
            match = _PARTITION.search(name)
            if match:
                start = datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)
                found.append(Partition(name, start, next_month(start)))
    return sorted(found, key=lambda partition: partition.start)


def _create_month(cursor, start: datetime) -> None:
    """Make the month's partition, moving its rows out of the default partition.

    The rows move before the month is attached (a default partition may not hold
    rows of an attached range); the CHECK constraint spares ATTACH a scan.
    """
    table, name, end = _table(), partition_name(start), next_month(start)
    cursor.execute(
        f"CREATE TABLE {quote(name)} (LIKE {quote(table)} INCLUDING DEFAULTS)"
    )
    bounds = [start, end]
    cursor.execute(
        f"WITH moved AS (DELETE FROM {quote(default_partition())}"
        ' WHERE "timestamp" >= %s AND "timestamp" < %s RETURNING *)'
        f" INSERT INTO {quote(name)} SELECT * FROM moved",
        bounds,
    )
    cursor.execute(
        f"ALTER TABLE {quote(name)} ADD CONSTRAINT {quote(name + '_range')}"
        ' CHECK ("timestamp" >= %s AND "timestamp" < %s)',
        bounds,
    )
    cursor.execute(
        f"ALTER TABLE {quote(table)} ATTACH PARTITION {quote(name)}"
        " FOR VALUES FROM (%s) TO (%s)",
        bounds,
    )
    cursor.execute(
        f"ALTER TABLE {quote(name)} DROP CONSTRAINT {quote(name + '_range')}"
    )


def partitions_ensure(*, now: datetime, ahead: int = MONTHS_AHEAD) -> list[str]:
    """Make the partitions from the month of ``now - LATE_ARRIVALS`` to ``ahead``
    months after this one; the ones made.

    Nothing when events are not partitioned. Gives up (and the next run tries
    again) if the table stays locked for ``LOCK_TIMEOUT``.
    """
    if not is_partitioned():
        return []
    existing = {partition.start for partition in partitions()}
    made = []
    for start in _months_needed(now, ahead):
        if start not in existing:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                _create_month(cursor, start)
            made.append(partition_name(start))
    return made


def _months_needed(now: datetime, ahead: int) -> list[datetime]:
    """The months that events arriving now may belong to, and ``ahead`` more."""
    months, start = [], month_start(now - LATE_ARRIVALS)
    last = month_start(now)
    for _ in range(ahead):
        last = next_month(last)
    while start <= last:
        months.append(start)
        start = next_month(start)
    return months


def _referencing_foreign_keys(cursor) -> list[tuple[str, str]]:
    """(table, constraint) of every foreign key that references the events."""
    cursor.execute(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint"
        " WHERE contype = 'f' AND confrelid = %s::regclass",
        [quote(_table())],
    )
    return cursor.fetchall()


def _plain_index_definitions(cursor, table: str) -> list[str]:
    """``CREATE INDEX`` of each non-unique index of ``table``, to build again."""
    cursor.execute(
        "SELECT pg_get_indexdef(indexrelid) FROM pg_index"
        " WHERE indrelid = %s::regclass AND NOT indisunique",
        [quote(table)],
    )
    return [definition.replace(" ON ONLY ", " ON ") for (definition,) in cursor]


def _next_id(cursor, table: str) -> int:
    """The id the table's sequence hands out next."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    cursor.execute(f"SELECT last_value, is_called FROM {cursor.fetchone()[0]}")
    last_value, is_called = cursor.fetchone()
    return last_value + 1 if is_called else last_value


def _swap_tables(cursor, old: str, new: str, next_id: int, identity: bool) -> None:
    """Put ``new`` in ``old``'s place, its ids going on from ``next_id``.

    A partitioned table may have no identity column before PostgreSQL 17: its
    ids come from a sequence it owns (as ``serial`` does), under the name of
    the identity sequence Django made, and an unpartitioned one gets its
    identity column back.
    """
    table = _table()
    sequence = quote(f"{table}_id_seq")
    cursor.execute(f"DROP TABLE {quote(old)} CASCADE")
    cursor.execute(f"ALTER TABLE {quote(new)} RENAME TO {quote(table)}")
    cursor.execute(f"ALTER TABLE {quote(table)} ALTER COLUMN id DROP DEFAULT")
    cursor.execute(f"DROP SEQUENCE IF EXISTS {sequence}")
    if identity:
        cursor.execute(
            f"ALTER TABLE {quote(table)} ALTER COLUMN id ADD GENERATED BY DEFAULT"
            f" AS IDENTITY (SEQUENCE NAME {sequence} START WITH {int(next_id)})"
        )
        return
    cursor.execute(
        f"CREATE SEQUENCE {sequence} START WITH {int(next_id)}"
        f" OWNED BY {quote(table)}.id"
    )
    cursor.execute(
        f"ALTER TABLE {quote(table)} ALTER COLUMN id"
        f" SET DEFAULT nextval('{sequence}'::regclass)"
    )


def convert(*, now: datetime, ahead: int = MONTHS_AHEAD) -> bool:
    """Partition the events table by month; False if it already is.

    Makes a partition for every month that holds events and every month
    ``partitions_ensure`` makes, and a default partition. Runs in one transaction.
    """
    if connection.vendor != "postgresql" or is_partitioned():
        return False
    table = _table()
    keys = quote(MeterEventKey._meta.db_table)
    building = f"{table}_partitioned"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {quote(table)} IN ACCESS EXCLUSIVE MODE")
        next_id = _next_id(cursor, table)
        indexes = _plain_index_definitions(cursor, table)
        for referencing, constraint in _referencing_foreign_keys(cursor):
            cursor.execute(
                f"ALTER TABLE {referencing} DROP CONSTRAINT {quote(constraint)}"
            )
        # Byte-wise order: equality is all dedupe needs, and cheaper per row.
        cursor.execute(
            f"ALTER TABLE {keys} ALTER COLUMN event_name TYPE varchar(100)"
            ' COLLATE "C", ALTER COLUMN identifier TYPE varchar(100) COLLATE "C"'
        )
        cursor.execute(f"TRUNCATE {keys}")
        cursor.execute(
            f"INSERT INTO {keys} (livemode, event_name, identifier, event_id)"
            f" SELECT livemode, event_name, identifier, id FROM {quote(table)}"
        )
        cursor.execute(
            f"CREATE TABLE {quote(building)} (LIKE {quote(table)} INCLUDING DEFAULTS)"
            ' PARTITION BY RANGE ("timestamp")'
        )
        cursor.execute(
            f"CREATE TABLE {quote(default_partition())}"
            f" PARTITION OF {quote(building)} DEFAULT"
        )
        cursor.execute(
            "SELECT DISTINCT date_trunc('month', \"timestamp\" AT TIME ZONE 'UTC')"
            f" FROM {quote(table)}"
        )
        months = {found.replace(tzinfo=UTC) for (found,) in cursor.fetchall()}
        months.update(_months_needed(now, ahead))
        for start in sorted(months):
            cursor.execute(
                f"CREATE TABLE {quote(partition_name(start))}"
                f" PARTITION OF {quote(building)} FOR VALUES FROM (%s) TO (%s)",
                [start, next_month(start)],
            )
        cursor.execute(f"INSERT INTO {quote(building)} SELECT * FROM {quote(table)}")
        _swap_tables(cursor, table, building, next_id, identity=False)
        cursor.execute(
            f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(table + '_pkey')}"
            ' PRIMARY KEY (id, "timestamp")'
        )
        for definition in indexes:
            cursor.execute(definition)
        cursor.execute(f"ANALYZE {quote(table)}")
    return True


def revert() -> bool:
    """Make the events one table again (``convert`` undone); False if it is.

    The dedupe key and the cancellations' foreign key come back as the
    migrations made them.
    """
    if not is_partitioned():
        return False
    table = _table()
    building = f"{table}_plain"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {quote(table)} IN ACCESS EXCLUSIVE MODE")
        next_id = _next_id(cursor, table)
        indexes = _plain_index_definitions(cursor, table)
        cursor.execute(
            f"CREATE TABLE {quote(building)} (LIKE {quote(table)} INCLUDING DEFAULTS)"
        )
        cursor.execute(f"INSERT INTO {quote(building)} SELECT * FROM {quote(table)}")
        _swap_tables(cursor, table, building, next_id, identity=True)
        cursor.execute(f"TRUNCATE {quote(MeterEventKey._meta.db_table)}")
        cursor.execute(
            f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(table + '_pkey')}"
            " PRIMARY KEY (id)"
        )
        for definition in indexes:
            cursor.execute(definition)
    with connection.schema_editor() as editor:
        for constraint in MeterEvent._meta.constraints:
            editor.add_constraint(MeterEvent, constraint)
        field = MeterEventAdjustment._meta.get_field("event")
        editor.execute(
            editor._create_fk_sql(
                MeterEventAdjustment, field, "_fk_%(to_table)s_%(to_column)s"
            )
        )
    return True


def partition_detach(partition: Partition) -> None:
    """Detach one month from the events table (it becomes a table of its own)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        cursor.execute(
            f"ALTER TABLE {quote(_table())} DETACH PARTITION {quote(partition.table)}"
        )
