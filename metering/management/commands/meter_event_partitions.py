"""``manage.py meter_event_partitions convert|ensure|list|revert``: months of events.

``convert`` partitions the events table by month (PostgreSQL; the migration does it
when ``TALLY_METER_EVENT_PARTITIONS`` is on); restart the processes that write
events afterwards. ``ensure`` makes the months ahead, as Beat does. ``revert``
makes the events one table again. Archiving months: ``meter_events_archive``.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from core import clock
from metering.storage import partitions


class Command(BaseCommand):
    help = "Partition meter events by month, make months ahead, list or undo them."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["convert", "ensure", "list", "revert"])
        parser.add_argument(
            "--ahead",
            type=int,
            default=partitions.MONTHS_AHEAD,
            help="months to make beyond the current one",
        )

    def handle(self, *args, action: str, ahead: int, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("Meter events are partitioned on PostgreSQL only.")
        now = clock.now()
        if action == "convert":
            done = partitions.convert(now=now, ahead=ahead)
            self.stdout.write(
                "Partitioned meter events by month."
                if done
                else "Meter events were partitioned already."
            )
        elif action == "ensure":
            made = partitions.partitions_ensure(now=now, ahead=ahead)
            self.stdout.write("Made: " + (", ".join(made) or "nothing"))
        elif action == "revert":
            done = partitions.revert()
            self.stdout.write(
                "Meter events are one table again."
                if done
                else "Meter events were not partitioned."
            )
        elif not partitions.is_partitioned():
            self.stdout.write("Meter events are one table (not partitioned).")
        else:
            for partition in partitions.partitions():
                self.stdout.write(
                    f"{partition.table}\t{partition.start:%Y-%m-%d}"
                    f"\t{partition.end:%Y-%m-%d}"
                )
