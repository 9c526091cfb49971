"""Dimensions of meter events: the values of a meter's declared payload keys.

A meter declares ``dimension_payload_keys`` at creation (Stripe's name; they never
change, as Stripe's do not). Each event carries one value per declared key, a
string; a key the event did not send has the value ``""``, so events without it
form the ``""`` segment and grouped usage still adds up to the whole. The values
of an event are interned as one *dimension set*: its id is a 63-bit digest of the
meter and the values (``dimension_set_id``), computed without a query on the hot
path, and stored with the event and in its hourly rollup. ``MeterDimensionSet``
maps ids back to values; ingestion writes a set's row once, before the first event
that carries it (``dimension_sets_store``). Meters without dimensions use set 0.

Reads never look inside JSON: a segment (``{key: value}`` conditions) is the list
of set ids whose values match, and grouping maps set ids to values in memory.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping

from django.db import transaction

from catalog.segments import Segment as Segment
from catalog.segments import segment_of as segment_of
from catalog.segments import segments_overlap as segments_overlap
from core.errors import InvalidRequest
from metering.models import Meter, MeterDimensionSet

# The set of every event of a meter without dimensions.
NO_DIMENSIONS = 0
# A segment (``catalog.segments``): (key, value) conditions, sorted; all must
# hold. None: the whole meter. Imported here for the readers of segments.
# Ids whose row is known to be committed (the mapping never changes once written).
_known: set[int] = set()
# Values by id, as read or written: an id is a digest of its values, so they
# are right even if the row that held them was rolled back.
_values: dict[int, dict[str, str]] = {}
_lock = threading.Lock()
_KNOWN_LIMIT = 1_000_000


def dimension_set_id(meter_id: str, values: tuple[str, ...]) -> int:
    """The id of a meter's dimension values: a digest, never 0 (no NUL in values)."""
    text = "\x00".join((meter_id, *values)).encode()
    digest = hashlib.blake2b(text, digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 1) or 1


def dimension_values(meter: Meter, payload: Mapping) -> tuple[str, ...]:
    """The values of the meter's dimensions in a payload; ``""`` where absent."""
    return tuple(str(payload.get(key, "")) for key in meter.dimension_keys)


def dimension_sets_store(sets: Mapping[int, tuple[str, dict[str, str]]]) -> None:
    """Write the rows of dimension sets ``{id: (meter id, {key: value})}`` not yet
    known to be stored.

    Idempotent (``ON CONFLICT DO NOTHING``); ids are remembered once committed.
    """
    with _lock:
        new = {set_id: meta for set_id, meta in sets.items() if set_id not in _known}
    if not new:
        return
    rows = [
        MeterDimensionSet(id=set_id, meter_id=meter_id, values=values)
        for set_id, (meter_id, values) in sorted(new.items())
    ]
    MeterDimensionSet.objects.bulk_create(rows, ignore_conflicts=True)
    _note_values({row.id: row.values for row in rows})
    transaction.on_commit(lambda: _remember(new))


def _remember(ids: Iterable[int]) -> None:
    with _lock:
        if len(_known) > _KNOWN_LIMIT:
            _known.clear()
        _known.update(ids)


def _note_values(values: Mapping[int, dict[str, str]]) -> None:
    with _lock:
        if len(_values) > _KNOWN_LIMIT:
            _values.clear()
        _values.update(values)


def forget() -> None:
    """Forget which sets are stored (between transactional tests)."""
    with _lock:
        _known.clear()


def dimension_sets_of(meter: Meter) -> dict[int, dict[str, str]]:
    """Every dimension set the meter's events carry, by id."""
    if not meter.dimension_keys:
        return {}
    return dict(
        MeterDimensionSet.objects.filter(meter=meter).values_list("id", "values")
    )


def dimension_values_of(
    meter: Meter, set_ids: Iterable[int]
) -> dict[int, dict[str, str]]:
    """The values of the meter's sets ``set_ids``, by id: from this process's
    memory (an id's values never change), one query for the ones not there."""
    wanted = set(set_ids)
    with _lock:
        found = {set_id: _values[set_id] for set_id in wanted if set_id in _values}
    missing = wanted - found.keys()
    if missing:
        rows = MeterDimensionSet.objects.filter(meter=meter, id__in=missing)
        read = dict(rows.values_list("id", "values"))
        _note_values(read)
        found.update(read)
    return found


def sets_matching(
    sets: Mapping[int, Mapping[str, str]], segment: Segment | None
) -> list[int]:
    """The ids of the sets whose values meet every condition of ``segment``."""
    if segment is None:
        return list(sets)
    return [
        set_id
        for set_id, values in sets.items()
        if all(values.get(key, "") == value for key, value in segment)
    ]


def segment_sets(meter: Meter, segment: Segment | None) -> list[int] | None:
    """The set ids a read of ``segment`` filters on; None for the whole meter."""
    if segment is None:
        return None
    return sets_matching(dimension_sets_of(meter), segment)


def payload_dimensions(meter: Meter, set_id: int) -> dict[str, str]:
    """The non-empty dimension values of one event's set, as its payload held them."""
    if not set_id:
        return {}
    values = _values.get(set_id)
    if values is None:
        rows = MeterDimensionSet.objects.filter(pk=set_id)
        values = rows.values_list("values", flat=True).first() or {}
        _note_values({set_id: values})
    return {key: value for key, value in values.items() if value != ""}


def check_dimension_keys(meter: Meter, keys: Iterable[str], param: str) -> None:
    """Refuse a key the meter does not declare (400 naming ``param[key]``)."""
    for key in keys:
        if key not in meter.dimension_keys:
            declared = ", ".join(meter.dimension_keys) or "none"
            raise InvalidRequest(
                f"The meter {meter.pk} has no dimension '{key}' (its "
                f"dimension_payload_keys: {declared}).",
                param=f"{param}[{key}]",
            )
