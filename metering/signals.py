"""Signals metering sends to the apps above it, which it never imports.

- ``usage_recorded``: new meter events (or a cancellation) are committed. It has
  no arguments: listeners read what is new themselves (``alerts`` counts from its
  cursor), so the ingestion path pays one call and no query.
- ``meter_event_cancelled``: sent inside the cancel's transaction with ``event``
  (the ``MeterEvent``) and ``now``, so a listener's correction commits with it.
"""

from django.db import transaction
from django.dispatch import Signal

usage_recorded = Signal()
meter_event_cancelled = Signal()


def usage_recorded_on_commit() -> None:
    """Send ``usage_recorded`` once the current transaction commits (now, if none)."""
    transaction.on_commit(_send_usage_recorded)


def _send_usage_recorded() -> None:
    usage_recorded.send(sender=None)
