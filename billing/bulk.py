"""Saving many rows of one model at once, for the batch jobs (period close, finalize).

Django's ``bulk_update`` builds one ``CASE WHEN pk = … THEN …`` expression per row
and field; for a chunk of invoices that costs more CPU than everything else the
job does. On PostgreSQL ``bulk_save`` sends one ``UPDATE … FROM (VALUES …)``
instead: each value is a parameter, cast to its column's type. Other databases
(SQLite, in development) keep ``bulk_update``.
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
