"""How far usage is counted towards alerts; when a test clock was last evaluated.

- ``UsageCounter``, ``UsageMark`` and ``AlertCursor``: usage is counted
  incrementally as it arrives. The cursor says up to which meter event (receipt
  order) usage has been counted; each run adds the newer events to one counter per
  (meter, customer), in the transaction that moves the cursor, so every event is
  counted once. An alert's progress is its pair's counter minus the mark taken
  when the cursor passed the alert's creation.
- ``ClockEvaluation``: when alerts and thresholds were last evaluated on a test
  clock, so an advance evaluates each moment once.
"""

from __future__ import annotations

from django.db import models

from core.models import Customer, TestClock
from metering.models import SUM_DIGITS, Meter


class UsageCounter(models.Model):
    """Usage of one customer on one sum or count meter, counted up to the cursor.

    One row per (meter, customer), shared by every alert watching the pair: a
    run adds the new events once per pair, whatever the number of alerts. Only
    differences between the counter and a ``UsageMark`` mean anything: events
    before any alert's creation are not counted.
    """

    # The unique constraint's index leads with the meter.
    meter = models.ForeignKey(
        Meter, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # Meter units (events, for a count meter) counted so far.
    value = models.DecimalField(max_digits=SUM_DIGITS, decimal_places=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["meter", "customer"], name="usage_counter_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meter_id} of {self.customer_id}: {self.value}"


class UsageMark(models.Model):
    """The counter of (meter, customer) when the cursor passed event ``event_id``.

    Alerts created at event ``event_id`` (their ``after_event_id``) count the
    usage since: the counter minus the mark (no mark: the counter started later,
    from zero). One mark serves every alert created at that point.
    """

    # The unique constraint's index leads with the meter.
    meter = models.ForeignKey(
        Meter, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    event_id = models.BigIntegerField()
    value = models.DecimalField(max_digits=SUM_DIGITS, decimal_places=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["meter", "customer", "event_id"], name="usage_mark_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meter_id} of {self.customer_id} at {self.event_id}"


class AlertCursor(models.Model):
    """How far meter events are counted into the ``UsageCounter`` rows.

    One row. Events with ``id <= event_id`` are counted, and a cancellation of one
    of them has been taken out (``alerts.services.progress``).
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    event_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"alerts counted up to event {self.event_id}"


class ClockEvaluation(models.Model):
    """The last moment alerts and thresholds were evaluated on a test clock."""

    test_clock = models.OneToOneField(
        TestClock, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    evaluated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.test_clock_id} at {self.evaluated_at:%Y-%m-%d %H:%M:%S}"
