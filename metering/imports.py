"""Bulk import of meter events from NDJSON or CSV files, one event per line.

NDJSON lines are objects ``{"event_name", "payload": {...}, "identifier"?,
"timestamp"?}``. CSV files have a header row naming ``event_name``, optionally
``identifier`` and ``timestamp``; every other column is a payload key (empty cells
are left out). ``timestamp`` is unix seconds or RFC 3339.

A line without an identifier gets one derived from its line number and content, so
importing the same file again (or the same file grown by new lines) stores nothing
twice. Two different files with an identical line at the same position would share
that identifier, so lines should carry an identifier or at least a timestamp.

The file is cut into chunks of raw records; ``import_chunk`` parses, validates and
stores one chunk in one transaction (``meter_events_ingest_batch``), in this process
or in a worker process, and reports what it accepted and refused.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from core import clock
from core.errors import InvalidRequest
from metering.services import EventInput, meter_events_ingest_batch

HEAD_BYTES = 4096  # read ahead to tell NDJSON from CSV
_FIELDS = frozenset({"event_name", "payload", "identifier", "timestamp"})
_CSV_FIELDS = ("event_name", "identifier", "timestamp")


@dataclass(frozen=True, slots=True)
class Record:
    """One line of the file: its number (1-based), text, size, and CSV cells if any."""

    number: int
    text: str
    size: int
    cells: dict[str, str] | None = None


@dataclass
class ChunkResult:
    """What importing one chunk did; ``rejects`` are (line, text, error dict)."""

    accepted: int = 0
    duplicates: int = 0
    size: int = 0
    rejects: list[tuple[int, str, dict]] = field(default_factory=list)


def derived_identifier(number: int, text: str) -> str:
    """The identifier of a line that has none: stable across runs of the import."""
    digest = hashlib.sha256(f"{number}:{text}".encode()).hexdigest()
    return f"imp_{digest[:40]}"


def _bad_timestamp() -> InvalidRequest:
    return InvalidRequest(
        "Invalid timestamp: use unix seconds or RFC 3339 with an offset.",
        param="timestamp",
    )


def parse_timestamp(value: Any) -> datetime | None:
    """Unix seconds (number or digits) or an RFC 3339 string with an offset."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and value.strip().isdigit():
        seconds = int(value)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _bad_timestamp() from None
        if moment.tzinfo is None:
            raise _bad_timestamp()
        return moment
    else:
        raise _bad_timestamp()
    if not 0 <= seconds < 253402300800:
        raise InvalidRequest("Invalid timestamp: out of range.", param="timestamp")
    return datetime.fromtimestamp(seconds, tz=UTC)


def _event(fields: dict, record: Record) -> EventInput:
    unknown = [key for key in fields if key not in _FIELDS]
    if unknown:
        raise InvalidRequest(
            f"Received unknown parameter: {unknown[0]}",
            param=str(unknown[0]),
            code="parameter_unknown",
        )
    identifier = fields.get("identifier")
    if identifier is None or identifier == "":
        identifier = derived_identifier(record.number, record.text)
    return EventInput(
        event_name=fields.get("event_name"),
        payload=fields.get("payload"),
        identifier=identifier,
        timestamp=parse_timestamp(fields.get("timestamp")),
    )


def _fields(record: Record) -> dict:
    if record.cells is not None:
        fields: dict[str, Any] = {"payload": {}}
        for name, cell in record.cells.items():
            if name in _CSV_FIELDS:
                fields[name] = cell
            elif cell != "":
                fields["payload"][name] = cell
        return fields
    try:
        fields = json.loads(record.text)
    except ValueError as exc:
        raise InvalidRequest(f"Invalid JSON: {exc}", code="invalid_body") from None
    if not isinstance(fields, dict):
        raise InvalidRequest("Each line must be a JSON object.", code="invalid_body")
    return fields


def ndjson_records(stream: IO[bytes]) -> Iterator[Record]:
    for number, raw in enumerate(stream, start=1):
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        if text.strip():
            yield Record(number, text, len(raw))


def csv_records(stream: IO[bytes]) -> Iterator[Record]:
    text_stream = io.TextIOWrapper(
        stream, encoding="utf-8", errors="replace", newline=""
    )
    reader = csv.reader(text_stream)
    header = next(reader, None)
    if header is None:
        return
    header = [name.strip() for name in header]
    if "event_name" not in header:
        raise InvalidRequest("The CSV header must name an event_name column.")
    for row in reader:
        if any(cell.strip() for cell in row):
            text = ",".join(row)
            cells = dict(zip(header, row, strict=False))
            yield Record(reader.line_num, text, len(text) + 1, cells)


def import_chunk(records: list[Record]) -> ChunkResult:
    """Parse, validate and store one chunk (one transaction); report the outcome."""
    result = ChunkResult(size=sum(record.size for record in records))
    parsed: list[tuple[Record, EventInput]] = []
    for record in records:
        try:
            parsed.append((record, _event(_fields(record), record)))
        except InvalidRequest as error:
            result.rejects.append((record.number, record.text, error.as_dict()))
    if parsed:
        outcome = meter_events_ingest_batch(
            events=[event for _, event in parsed], now=clock.now()
        )
        result.accepted = outcome.accepted
        result.duplicates = len(outcome.duplicates)
        for position, error in outcome.errors:
            record = parsed[position][0]
            result.rejects.append((record.number, record.text, error.as_dict()))
    result.rejects.sort()
    return result
