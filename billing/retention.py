"""Archiving months of meter events, never one that an unbilled period touches.

The rule: a month of events (``metering.storage.partitions``) may leave the
database only when it ends at or before the **unbilled horizon**, the earliest of

- the current period start of every subscription that has not ended (whatever
  its status, in both modes, test clocks included): its usage is still to be
  invoiced, and subscription items may have periods of their own;
- the period start of every draft invoice: finalization re-rates a draft from
  the events (``billing.services.rerate``);

and never the current month. Everything before the horizon is on finalized
invoices, whose amounts no longer read events. The hourly rollups stay, so
summaries of archived months still answer, and so do the dedupe keys: an
identifier once stored stays a duplicate.

Archiving writes the month to a gzipped CSV file (with a header), checks that
the file holds as many rows as the month, then detaches and drops the month.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.db import connection
from django.db.models import Min

from billing.models import Invoice, Subscription, SubscriptionItem
from metering.storage import partitions
from metering.storage.rows import quote


class RetentionRefused(Exception):
    """A month may not be archived; the message says which period holds it."""


@dataclass(frozen=True)
class Horizon:
    """Events from ``moment`` on may still be billed; ``reason`` names why."""

    moment: datetime
    reason: str


def unbilled_horizon(*, now: datetime) -> Horizon:
    """The earliest moment whose usage may still be invoiced (at most ``now``)."""
    horizon = Horizon(now, "now")
    open_subscriptions = Subscription.objects.filter(ended_at__isnull=True)
    first = open_subscriptions.order_by("current_period_start").first()
    if first is not None and first.current_period_start < horizon.moment:
        horizon = Horizon(
            first.current_period_start,
            f"subscription {first.id}'s current period",
        )
    item_start = SubscriptionItem.objects.filter(
        subscription__ended_at__isnull=True
    ).aggregate(start=Min("current_period_start"))["start"]
    if item_start is not None and item_start < horizon.moment:
        horizon = Horizon(item_start, "a subscription item's current period")
    draft = (
        Invoice.objects.filter(status=Invoice.Status.DRAFT)
        .order_by("period_start")
        .first()
    )
    if draft is not None and draft.period_start < horizon.moment:
        horizon = Horizon(draft.period_start, f"draft invoice {draft.id}'s period")
    return horizon


def archivable(*, through: datetime, now: datetime) -> list[partitions.Partition]:
    """The months up to the one holding ``through``; RetentionRefused if any of
    them may still be billed."""
    if not partitions.is_partitioned():
        raise RetentionRefused(
            "Meter events are not partitioned by month: nothing to archive "
            "(TALLY_METER_EVENT_PARTITIONS, docs/deploy.md)."
        )
    horizon = unbilled_horizon(now=now)
    this_month = partitions.month_start(now)
    chosen = [
        partition for partition in partitions.partitions() if partition.start <= through
    ]
    for partition in chosen:
        if partition.end > this_month:
            raise RetentionRefused(
                f"{partition.start:%Y-%m} is the current month or later."
            )
        if partition.end > horizon.moment:
            raise RetentionRefused(
                f"{partition.start:%Y-%m} may still be billed: {horizon.reason} "
                f"starts {horizon.moment:%Y-%m-%d %H:%M} UTC."
            )
    return chosen


def _write_archive(partition: partitions.Partition, directory: Path) -> Path:
    """The month's rows as gzipped CSV; refuses if the count read back differs."""
    path = directory / f"{partition.table}.csv.gz"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {quote(partition.table)}")
        expected = cursor.fetchone()[0]
        raw = cursor.cursor
        with (
            gzip.open(path, "wb") as archive,
            raw.copy(
                f"COPY {quote(partition.table)} TO STDOUT (FORMAT CSV, HEADER)"
            ) as copy,
        ):
            for block in copy:
                archive.write(block)
    with gzip.open(path, "rt", newline="") as archive:
        written = sum(1 for _ in csv.reader(archive)) - 1
    if written != expected:
        raise RetentionRefused(
            f"{path} holds {written} rows, {partition.table} {expected}: kept."
        )
    return path


def meter_events_archive(
    *, through: datetime, directory: Path, now: datetime, drop: bool = True
) -> list[Path]:
    """Archive every month up to ``through`` that the rule allows; the files.

    Checks every month before touching any. ``drop=False`` writes the files only.
    """
    chosen = archivable(through=through, now=now)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for partition in chosen:
        written.append(_write_archive(partition, directory))
        if drop:
            partitions.partition_detach(partition)
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE {quote(partition.table)}")
    return written
