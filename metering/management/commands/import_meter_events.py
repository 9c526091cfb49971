"""``manage.py import_meter_events FILE``: bulk-load meter events from NDJSON or CSV."""

from __future__ import annotations

import collections
import gc
import io
import itertools
import json
import multiprocessing
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections
from tqdm import tqdm

from core import modes
from core.errors import InvalidRequest
from metering.imports import (
    HEAD_BYTES,
    ChunkResult,
    csv_chunks,
    import_chunk,
    ndjson_chunks,
)


class _Prefixed(io.RawIOBase):
    """A stream that replays ``head`` before the rest of ``stream`` (for stdin)."""

    def __init__(self, head: bytes, stream) -> None:
        self.head, self.stream = head, stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            size = min(len(buffer), len(self.head))
            buffer[:size], self.head = self.head[:size], self.head[size:]
            return size
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class Command(BaseCommand):
    help = (
        "Import meter events from an NDJSON or CSV file ('-' reads stdin), validated "
        "like the API, in batches of one transaction each. Re-running the same file "
        "stores nothing twice, so an interrupted import (even by a database crash, "
        "which may lose the last batches reported) is finished by running it again; "
        "refused lines go to a rejects file with the reason."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="NDJSON or CSV file, or '-' for stdin")
        parser.add_argument(
            "--format",
            choices=["auto", "ndjson", "csv"],
            default="auto",
            help="auto: by extension (.csv), else by the first character",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=10_000,
            help="lines per transaction (default 10,000)",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="processes importing batches in parallel (PostgreSQL; default 1)",
        )
        parser.add_argument(
            "--rejects", help="where refused lines go (default: FILE.rejects.ndjson)"
        )
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument(
            "--live",
            action="store_true",
            help="record live-mode events (live meters and customers); default test",
        )

    def handle(self, *args, **options):
        path = options["file"]
        if options["batch_size"] < 1 or options["workers"] < 1:
            raise CommandError("--batch-size and --workers must be at least 1.")
        if path == "-":
            raw = sys.stdin.buffer
            head = raw.read(HEAD_BYTES)
            stream, size = io.BufferedReader(_Prefixed(head, raw)), None
            rejects_path = options["rejects"] or "meter-events.rejects.ndjson"
        else:
            if not os.path.isfile(path):
                raise CommandError(f"No such file: {path}")
            stream = open(path, "rb")  # closed in the finally below
            head = stream.read(HEAD_BYTES)
            stream.seek(0)
            size = os.path.getsize(path)
            rejects_path = options["rejects"] or f"{path}.rejects.ndjson"
        fmt = options["format"]
        if fmt == "auto":
            is_csv = path.lower().endswith(".csv") or not head.lstrip().startswith(b"{")
            fmt = "csv" if is_csv else "ndjson"
        chunks = (csv_chunks if fmt == "csv" else ndjson_chunks)(
            stream, options["batch_size"]
        )
        # What is alive now (Django, the modules) outlives the import, which makes
        # objects by the million: frozen, the old ones are no longer walked by each
        # full collection, which took a third of the import's Python time.
        gc.freeze()
        try:
            # The first chunk is read here so that a bad CSV header stops us early.
            first = next(chunks, None)
            chunks = itertools.chain([first] if first else [], chunks)
            progress = tqdm(
                total=size,
                unit="B",
                unit_scale=True,
                desc="meter events",
                disable=options["no_progress"],
                file=sys.stderr,
            )
            # The events' mode; forked workers inherit it (``core.modes``).
            with progress, modes.scope(options["live"]):
                results = self._run(chunks, options["workers"])
                totals = self._collect(results, Path(rejects_path), progress)
        except InvalidRequest as error:
            raise CommandError(error.message) from None
        finally:
            gc.unfreeze()
            stream.close()
        accepted, duplicates, rejected = totals
        self.stdout.write(
            f"Accepted {accepted}, already imported {duplicates}, rejected {rejected}."
        )
        if rejected:
            self.stdout.write(f"Rejected lines and reasons: {rejects_path}")

    def _run(self, chunks: Iterator, workers: int) -> Iterator[ChunkResult]:
        """Import chunks here, or in worker processes (each its own connection).

        Results come back in file order; at most two chunks per worker are read
        ahead, so a file of any size needs little memory.
        """
        if workers == 1 or connection.vendor != "postgresql":
            # No thread reading ahead: in a same-run pair it took more Python CPU
            # per event (GIL hand-overs) than it hid behind the server's work.
            yield from map(import_chunk, chunks)
            return
        connections.close_all()  # forked workers must not share our connection
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pending: collections.deque = collections.deque()
            for chunk in chunks:
                pending.append(pool.apply_async(import_chunk, (chunk,)))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().get()
            while pending:
                yield pending.popleft().get()

    def _collect(self, results: Iterable[ChunkResult], rejects_path: Path, progress):
        accepted = duplicates = rejected = 0
        rejects = None
        try:
            for result in results:
                accepted += result.accepted
                duplicates += result.duplicates
                for number, text, error in result.rejects:
                    if rejects is None:
                        rejects = rejects_path.open("w", encoding="utf-8")
                    rejected += 1
                    rejects.write(
                        json.dumps({"line": number, "error": error, "input": text})
                        + "\n"
                    )
                progress.update(result.size)
        finally:
            if rejects is not None:
                rejects.close()
        if rejects is None and rejects_path.exists():
            rejects_path.unlink()  # left by an earlier run of this import
        return accepted, duplicates, rejected
