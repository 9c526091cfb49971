"""Bulk import of meter events from NDJSON or CSV files, one event per line.

NDJSON lines are objects ``{"event_name", "payload": {...}, "identifier"?,
"timestamp"?}``. CSV files have a header row naming ``event_name``, optionally
``identifier`` and ``timestamp``; every other column is a payload key (empty cells
are left out). ``timestamp`` is unix seconds or RFC 3339.

A line without an identifier gets one derived from its line number and content, so
importing the same file again (or the same file grown by new lines) stores nothing
twice. Two different files with an identical line at the same position would share
that identifier, so lines should carry an identifier or at least a timestamp.

The file is cut into chunks: runs of raw NDJSON lines (``NdjsonChunk``, cheap to
cut and to hand to a worker process) or lists of CSV records. ``import_chunk``
parses, validates and stores one chunk in one transaction
(``meter_events_ingest_batch``), in this process or in a worker process, and reports
what it accepted and refused, in two halves: ``chunk_prepare`` reads, ``chunk_store``
writes. A chunk of NDJSON lines that are all plain events (the usual file) takes a
fast path: orjson, and straight from documents to rows
(``meter_events_documents_validate``); any other chunk is parsed with one
``json.loads`` call when every line is valid JSON (``parse_ndjson``), line by line
otherwise, and each line validated and explained on its own.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from core import clock
from core.errors import InvalidRequest
from core.numbers import plain_digits
from metering.services import (
    EventInput,
    PlainBatch,
    meter_events_documents_validate,
    meter_events_ingest_batch,
    meter_events_plain_store,
)

HEAD_BYTES = 4096  # read ahead to tell NDJSON from CSV
_FIELDS = frozenset({"event_name", "payload", "identifier", "timestamp"})
_CSV_FIELDS = ("event_name", "identifier", "timestamp")


@dataclass(frozen=True, slots=True)
class Record:
    """One CSV record: its line number (1-based), text, size in bytes, and cells."""

    number: int
    text: str
    size: int
    cells: dict[str, str]


@dataclass(frozen=True, slots=True)
class NdjsonChunk:
    """Consecutive raw lines of an NDJSON file, the first numbered ``first_number``."""

    first_number: int
    lines: list[bytes]


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


# Unix seconds of 10000-01-01: later moments cannot be datetimes.
_END_OF_TIME = 253402300800


def parse_timestamp(value: Any) -> datetime | None:
    """Unix seconds (number or digits) or an RFC 3339 string with an offset."""
    if type(value) is int and 0 <= value < _END_OF_TIME:
        return datetime.fromtimestamp(value, tz=UTC)
    if value is None or value == "":
        return None
    text = value.strip() if isinstance(value, str) else ""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif plain_digits(text):
        # Longer than the end of time is out of range (and int() refuses thousands).
        seconds = int(text) if len(text) <= len(str(_END_OF_TIME)) else _END_OF_TIME
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise _bad_timestamp() from None
        if moment.tzinfo is None:
            raise _bad_timestamp()
        return moment
    else:
        raise _bad_timestamp()
    if not 0 <= seconds < _END_OF_TIME:
        raise InvalidRequest("Invalid timestamp: out of range.", param="timestamp")
    return datetime.fromtimestamp(seconds, tz=UTC)


_from_unix = datetime.fromtimestamp


def _event(fields: Any, number: int, text: str) -> EventInput:
    """The event of one line's fields; its identifier derived if it has none."""
    if type(fields) is not dict:
        raise fields if isinstance(fields, InvalidRequest) else _not_an_object()
    if not fields.keys() <= _FIELDS:
        unknown = next(key for key in fields if key not in _FIELDS)
        raise InvalidRequest(
            f"Received unknown parameter: {unknown}",
            param=str(unknown),
            code="parameter_unknown",
        )
    identifier = fields.get("identifier")
    if identifier is None or identifier == "":
        identifier = derived_identifier(number, text)
    timestamp = fields.get("timestamp")
    if type(timestamp) is int and 0 <= timestamp < _END_OF_TIME:
        timestamp = _from_unix(timestamp, UTC)
    else:
        timestamp = parse_timestamp(timestamp)
    return EventInput(
        fields.get("event_name"), fields.get("payload"), identifier, timestamp
    )


def _not_an_object() -> InvalidRequest:
    return InvalidRequest("Each line must be a JSON object.", code="invalid_body")


def _csv_fields(record: Record) -> dict:
    fields: dict[str, Any] = {"payload": {}}
    for name, cell in record.cells.items():
        if name in _CSV_FIELDS:
            fields[name] = cell
        elif cell != "":
            fields["payload"][name] = cell
    return fields


def _line_fields(text: str) -> dict | InvalidRequest:
    try:
        fields = json.loads(text)
    except ValueError as exc:
        return InvalidRequest(f"Invalid JSON: {exc}", code="invalid_body")
    return fields


def _parse_at_once(texts: list[str]) -> list | None:
    """Every line's JSON value from one ``json.loads``, or None if a line is bad.

    The lines go into one array, separated by a random string that no line
    contains. Only if every line is a JSON value of its own does the array hold
    exactly the lines' values with the separator between each two: a line cannot
    borrow a bracket or a comma from its neighbour without moving a separator, and
    cannot fake one without knowing it.
    """
    separator = secrets.token_hex(16)
    if separator in "\n".join(texts):
        return None
    try:
        values = json.loads("[" + f',"{separator}",'.join(texts) + "]")
    except ValueError:
        return None
    if len(values) != 2 * len(texts) - 1:
        return None
    if values[1::2].count(separator) != len(texts) - 1:
        return None
    return values[::2]


def parse_ndjson(texts: list[str]) -> list:
    """Each line's JSON value, or the error that refuses the line."""
    values = _parse_at_once(texts) if texts else []
    if values is None:
        values = [_line_fields(text) for text in texts]
    return values


def ndjson_chunks(stream: IO[bytes], size: int) -> Iterator[NdjsonChunk]:
    """Cut the file into runs of ``size`` raw lines (blank ones included)."""
    number = 1
    while lines := list(itertools.islice(stream, size)):
        yield NdjsonChunk(number, lines)
        number += len(lines)


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


def csv_chunks(stream: IO[bytes], size: int) -> Iterator[list[Record]]:
    records = csv_records(stream)
    while chunk := list(itertools.islice(records, size)):
        yield chunk


def _ndjson_lines(chunk: NdjsonChunk) -> tuple[Sequence[int], list[str]]:
    """Numbers and texts of the chunk's non-blank lines, line ends removed."""
    text = b"".join(chunk.lines).decode("utf-8", "replace")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # after the last line's end
    numbers = range(chunk.first_number, chunk.first_number + len(lines))
    if "\r" not in text and all(map(str.strip, lines)):
        return numbers, lines
    kept = [index for index, line in enumerate(lines) if line.strip()]
    return [numbers[index] for index in kept], [
        lines[index].rstrip("\r") for index in kept
    ]


def _parsed(chunk: NdjsonChunk | list[Record], result: ChunkResult):
    """Numbers, texts and EventInputs of the lines that parse; refuse the rest."""
    if isinstance(chunk, NdjsonChunk):
        numbers, texts = _ndjson_lines(chunk)
        values = parse_ndjson(texts)
    else:
        numbers = [record.number for record in chunk]
        texts = [record.text for record in chunk]
        values = [_csv_fields(record) for record in chunk]
    events, refused = [], []
    append = events.append
    for position, (number, text, fields) in enumerate(
        zip(numbers, texts, values, strict=True)
    ):
        try:
            append(_event(fields, number, text))
        except InvalidRequest as error:
            result.rejects.append((number, text, error.as_dict()))
            refused.append(position)
    if refused:
        skip = set(refused)
        kept = [index for index in range(len(values)) if index not in skip]
        numbers = [numbers[index] for index in kept]
        texts = [texts[index] for index in kept]
    return numbers, texts, events


def _documents(lines: list[bytes]) -> list | None:
    """Each line's JSON value (orjson, strict), or None if some line is not JSON.

    The fast path of a chunk. A blank line, or anything only Python's more lenient
    parser reads (NaN, huge integers, lone surrogates), sends the chunk down the
    line-by-line path, which reads and explains each line as it always did.
    """
    try:
        return list(map(orjson.loads, lines))
    except orjson.JSONDecodeError:
        return None


@dataclass(frozen=True, slots=True)
class PreparedChunk:
    """A chunk read and, when it holds only plain events, validated (``batch``)."""

    chunk: NdjsonChunk | list[Record]
    size: int
    batch: PlainBatch | None


def chunk_prepare(chunk: NdjsonChunk | list[Record]) -> PreparedChunk:
    """The reading half of ``import_chunk``: parse and validate a chunk of plain
    events the fast way (orjson, straight from documents to rows). It writes
    nothing, so it may run ahead of the store of the chunk before."""
    if not isinstance(chunk, NdjsonChunk):
        return PreparedChunk(chunk, sum(record.size for record in chunk), None)
    size = sum(map(len, chunk.lines))
    documents = _documents(chunk.lines)
    if documents is None:
        return PreparedChunk(chunk, size, None)
    batch = meter_events_documents_validate(
        documents=documents, now=clock.now(), unix_seconds=True
    )
    return PreparedChunk(chunk, size, batch)


def chunk_store(prepared: PreparedChunk) -> ChunkResult:
    """The writing half of ``import_chunk`` (one transaction). A chunk that is not
    all plain events is parsed again line by line, each line explained."""
    result = ChunkResult(size=prepared.size)
    if prepared.batch is not None:
        # The commit need not wait for the disk: if the server crashes, a re-run
        # of the import stores exactly the events that were lost.
        result.accepted, result.duplicates = meter_events_plain_store(
            prepared.batch, sync_commit=False
        )
        return result
    numbers, texts, events = _parsed(prepared.chunk, result)
    if events:
        outcome = meter_events_ingest_batch(
            events=events, now=clock.now(), sync_commit=False
        )
        result.accepted = outcome.accepted
        result.duplicates = len(outcome.duplicates)
        for position, error in outcome.errors:
            result.rejects.append((numbers[position], texts[position], error.as_dict()))
    result.rejects.sort()
    return result


def import_chunk(chunk: NdjsonChunk | list[Record]) -> ChunkResult:
    """Parse, validate and store one chunk (one transaction); report the outcome."""
    return chunk_store(chunk_prepare(chunk))
