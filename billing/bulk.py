"""Writing many rows of one model at once, for the batch jobs (period close, finalize).

Django's ``bulk_update`` builds one ``CASE WHEN pk = … THEN …`` expression per row
and field; for a chunk of invoices that costs more CPU than everything else the
job does. On PostgreSQL ``bulk_save`` sends one ``UPDATE … FROM (VALUES …)``
instead: each value is a parameter, cast to its column's type. ``bulk_insert``
sends one array per column (``INSERT … SELECT * FROM UNNEST(…)``), which Django's
``bulk_create`` does too, but not for models with a custom field type such as
the exact decimals of invoice lines. Other databases (SQLite, in development)
keep ``bulk_update`` and ``bulk_create``.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models


def bulk_save(rows: Sequence[models.Model], fields: Sequence[str]) -> None:
    """Write ``fields`` of ``rows`` (saved rows of one model) in one statement."""
    if not rows:
        return
    model = type(rows[0])
    connection = connections[model.objects.db]
    if connection.vendor != "postgresql":
        model.objects.bulk_update(rows, fields)
        return
    meta = model._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    quote = connection.ops.quote_name
    casts = ", ".join(f"CAST(%s AS {column.db_type(connection)})" for column in columns)
    names = ", ".join(quote(column.column) for column in columns)
    sets = ", ".join(
        f"{quote(column.column)} = v.{quote(column.column)}" for column in columns[1:]
    )
    key = quote(meta.pk.column)
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {sets} "
        f"FROM (VALUES {', '.join([f'({casts})'] * len(rows))}) AS v ({names}) "
        f"WHERE {quote(meta.db_table)}.{key} = v.{key}"
    )
    params = [
        column.get_db_prep_save(getattr(row, column.attname), connection)
        for row in rows
        for column in columns
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def bulk_insert(rows: Sequence[models.Model]) -> None:
    """Insert new ``rows`` of one model (primary keys set) in one statement."""
    if not rows:
        return
    model = type(rows[0])
    connection = connections[model.objects.db]
    if connection.vendor != "postgresql":
        model.objects.bulk_create(rows)
        return
    meta = model._meta
    fields = meta.concrete_fields
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in fields)
    # An array per column: its type without the length (varchar[] for varchar(64)).
    arrays = ", ".join(
        f"%s::{field.db_type(connection).split('(')[0]}[]" for field in fields
    )
    params = [
        [field.get_db_prep_save(field.pre_save(row, True), connection) for row in rows]
        for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} ({names}) "
            f"SELECT * FROM UNNEST({arrays})",
            params,
        )
    for row in rows:
        row._state.adding, row._state.db = False, connection.alias
