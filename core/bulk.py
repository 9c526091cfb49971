"""Writing many rows of one model at once: the billing batch jobs (period close,
finalize) and the event log.

Django's ``bulk_update`` builds one ``CASE WHEN pk = … THEN …`` expression per row
and field, and its ``bulk_create`` prepares every value through the field and
sends one parameter (or one array element) per value; psycopg then quotes each
of them in Python (Django binds parameters on the client). For a chunk of
invoices and their lines that costs more CPU than everything else the job does.
On PostgreSQL ``bulk_save`` and ``bulk_insert`` send the rows as one JSON
document instead, which ``jsonb_populate_recordset`` turns back into rows of the
table's own type: one ``json.dumps`` (in C) and one quoted parameter per chunk.
Timestamps and decimals travel as text, which PostgreSQL reads back exactly;
JSON columns travel as the JSON they hold. The document is read as ``jsonb``, not
``json``: a ``jsonb`` column's value (an event's snapshot, kilobytes) is then
parsed once, where ``json_populate_recordset`` scanned it and parsed its text
again. Other databases (SQLite, in development) keep ``bulk_update`` and
``bulk_create``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from operator import attrgetter
from typing import Any
from uuid import UUID

from django.db import connections, models
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

# Exact field classes whose database value is the Python value of this type:
# Django's preparation would return it unchanged, after a few microseconds.
_PLAIN: dict[type, type] = {
    models.CharField: str,
    models.TextField: str,
    models.IntegerField: int,
    models.BigIntegerField: int,
    models.SmallIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveBigIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.BooleanField: bool,
}
_AS_TEXT = (datetime, date, time)


def _as_json(value: Any) -> Any:
    """A prepared column value as JSON that reads back as the same value."""
    if isinstance(value, _AS_TEXT):
        return value.isoformat()
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    return value


def _preparer(field: models.Field, connection) -> Callable[[Any], Any] | None:
    """The column's value of a model field's Python value, as JSON; None when the
    value is its own JSON (a JSON field without an encoder)."""
    if isinstance(field, models.JSONField):
        if field.encoder is None:
            return None
        encoder = field.encoder
        return lambda value: json.loads(json.dumps(value, cls=encoder))
    column = field.target_field if field.is_relation else field
    plain = _PLAIN.get(type(column))

    def prepare(value):
        if type(value) is plain:
            return value
        return _as_json(field.get_db_prep_save(value, connection))

    def prepare_moment(value):
        if type(value) is datetime and value.tzinfo is not None:
            return value.isoformat()
        return prepare(value)

    return prepare_moment if type(column) is models.DateTimeField else prepare


# ``pre_save`` of these classes returns the attribute unless a date is automatic.
_DATE_PRE_SAVES = (models.DateField.pre_save, models.DateTimeField.pre_save)


def _pre_save_is_attribute(field: models.Field) -> bool:
    method = type(field).pre_save
    if method is models.Field.pre_save:
        return True
    return method in _DATE_PRE_SAVES and not (field.auto_now or field.auto_now_add)


def _rows_json(rows, fields, connection, *, pre_save: bool) -> str:
    """The rows' values of ``fields``, keyed by column, as one JSON array.

    A chunk is thousands of rows of up to fifty fields: the attributes are read
    in one ``attrgetter`` call per row, and a value is prepared only when it is
    not already what the column stores (a ``str`` of a text column, ...).
    """
    fields = list(fields)
    columns = [field.column for field in fields]
    getter = attrgetter(*(field.attname for field in fields))
    read = getter if len(fields) > 1 else lambda row: (getter(row),)
    hooks = [
        (index, field)
        for index, field in enumerate(fields)
        if pre_save and not _pre_save_is_attribute(field)
    ]
    prepares = [
        (index, prepare)
        for index, prepare in enumerate(_preparer(f, connection) for f in fields)
        if prepare is not None
    ]
    documents = []
    for row in rows:
        values = list(read(row))
        for index, field in hooks:
            values[index] = field.pre_save(row, True)
        for index, prepare in prepares:
            if values[index] is not None:
                values[index] = prepare(values[index])
        documents.append(dict(zip(columns, values, strict=True)))
    return json.dumps(documents, separators=(",", ":"))


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
    table, key = quote(meta.db_table), quote(meta.pk.column)
    sets = ", ".join(
        f"{quote(column.column)} = v.{quote(column.column)}" for column in columns[1:]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {sets} "
            f"FROM jsonb_populate_recordset(NULL::{table}, %s::jsonb) AS v "
            f"WHERE {table}.{key} = v.{key}",
            [_rows_json(rows, columns, connection, pre_save=False)],
        )


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
    table = quote(meta.db_table)
    names = ", ".join(quote(field.column) for field in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}) "
            f"SELECT {names} FROM jsonb_populate_recordset(NULL::{table}, %s::jsonb)",
            [_rows_json(rows, fields, connection, pre_save=True)],
        )
    for row in rows:
        row._state.adding, row._state.db = False, connection.alias


class _NewRowPlan:
    """How ``new_row`` fills a model's fields: (name, attname, default, key of the
    related row or None), in field order, and the names it accepts."""

    def __init__(self, model: type[models.Model]) -> None:
        fields = model._meta.concrete_fields
        self.fields = [
            (
                field.name,
                field.attname,
                field._get_default,
                field.target_field.attname if field.is_relation else None,
            )
            for field in fields
        ]
        self.names = {field.name for field in fields} | {f.attname for f in fields}
        self.plain = (
            model.__init__ is models.Model.__init__ and not model._meta.private_fields
        )


_plans: dict[type, _NewRowPlan] = {}


def new_row(model: type[models.Model], **values: Any) -> models.Model:
    """``model(**values)`` for a row that a batch job builds to insert.

    Django's constructor goes through every field's descriptor and default in
    Python; a period close builds thousands of rows of up to fifty fields (an
    invoice), and that cost more than pricing them. This fills the instance's
    fields directly, with the same values: each field given (a related row by
    its name, cached as the descriptor would, or its key by ``<name>_id``), else
    its default. Models with their own constructor, private fields or
    ``pre_init``/``post_init`` receivers get Django's.
    """
    plan = _plans.get(model)
    if plan is None:
        plan = _plans[model] = _NewRowPlan(model)
    if (
        not plan.plain
        or pre_init.has_listeners(model)
        or post_init.has_listeners(model)
    ):
        return model(**values)
    unknown = values.keys() - plan.names
    if unknown:
        raise TypeError(f"{model.__name__} got unexpected fields {sorted(unknown)}")
    row = model.__new__(model)
    state = row._state = ModelState()
    data = row.__dict__
    for name, attname, default, key in plan.fields:
        if name in values:
            value = values[name]
            if key is not None:
                state.fields_cache[name] = value
                value = None if value is None else getattr(value, key)
            data[attname] = value
        elif attname in values:
            data[attname] = values[attname]
        else:
            data[attname] = default()
    return row
