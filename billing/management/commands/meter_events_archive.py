"""``manage.py meter_events_archive --through YYYY-MM --to DIR``: archive old months.

Writes each month of meter events up to ``--through`` to ``DIR`` as gzipped CSV,
then drops it from the database; refuses, touching nothing, if any of those
months may still be billed (the rule: ``billing.retention``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing.retention import RetentionRefused, archivable, meter_events_archive
from core import clock


def _month(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m").replace(tzinfo=UTC)
    except ValueError as error:
        raise CommandError(
            f"--through takes a month as YYYY-MM, not {text!r}."
        ) from error


class Command(BaseCommand):
    help = "Archive months of meter events that no unbilled period touches."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--through", required=True, help="last month, YYYY-MM")
        parser.add_argument("--to", dest="directory", help="folder for the files")
        parser.add_argument(
            "--keep",
            action="store_true",
            help="write the files but keep the months in the database",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="only list the months"
        )

    def handle(self, *args, through, directory, keep, dry_run, **options) -> None:
        month = _month(through)
        now = clock.now()
        try:
            if dry_run:
                for partition in archivable(through=month, now=now):
                    self.stdout.write(f"{partition.start:%Y-%m}\t{partition.table}")
                return
            if not directory:
                raise CommandError("--to names the folder the archive goes to.")
            files = meter_events_archive(
                through=month, directory=Path(directory), now=now, drop=not keep
            )
        except RetentionRefused as refused:
            raise CommandError(str(refused)) from refused
        for path in files:
            self.stdout.write(f"Archived {path}")
        if not files:
            self.stdout.write("No month to archive.")
