"""How the billing Beat jobs walk their rows: a chunk per transaction, in id order.

Period close and finalization claim their rows a chunk at a time with ``SELECT …
FOR UPDATE SKIP LOCKED`` (workers side by side never take the same row) and handle
a chunk set-based in one transaction. A chunk that fails rolls back whole and is
redone one row per transaction, so only a row that fails by itself is left: it is
logged, the job goes on with the others, and the first such error is raised at
the end (the job reports the failure; the next run retries that row).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def chunks_run(
    *,
    claim: Callable[[str], Sequence[Any]],
    chunk_do: Callable[[Sequence[Any]], int],
    one_do: Callable[[str], int],
) -> int:
    """Run a job over all its rows; returns the steps done.

    ``claim(after)`` locks the next chunk of rows with ids above ``after`` (in id
    order; empty when done), ``chunk_do(rows)`` handles them and ``one_do(id)``
    handles one row in its own transaction.
    """
    done, after, failure = 0, "", None
    while True:
        claimed: list[str] = []
        try:
            with _collector_paused(), transaction.atomic():
                rows = claim(after)
                claimed = [row.pk for row in rows]
                steps = chunk_do(rows)
            done += steps
        except Exception:
            if not claimed:
                raise
            steps, error = _each_do(claimed, one_do)
            done, failure = done + steps, failure or error
        if not claimed:
            break
        after = claimed[-1]
    if failure is not None:
        raise failure
    return done


@contextmanager
def _collector_paused():
    """No automatic cyclic garbage collection while a chunk runs.

    A chunk keeps thousands of rows, snapshots and rendered emails alive until it
    commits, and allocating them set off the collector's full passes, each of
    which walks every object of the process (a tenth of a second with a chunk of
    500 drafts in hand; a fifth of finalization's CPU). What a chunk leaves is
    freed by reference counting when it ends; the collector, running again after
    it, takes the rare cycles.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _each_do(ids: list[str], one_do: Callable[[str], int]):
    """Redo a failed chunk one row per transaction; (steps done, first error)."""
    done, failure = 0, None
    for row_id in ids:
        try:
            done += one_do(row_id)
        except Exception as error:
            logger.exception("Billing job: %s failed; the next run retries it", row_id)
            failure = failure or error
    return done, failure
