"""How far usage is counted towards alerts; when a test clock was last evaluated.

- ``AlertProgress`` and ``AlertCursor``: usage is counted incrementally as it arrives.
  The cursor says up to which meter event (receipt order) usage has been counted;
  each run adds the newer events to the progress of each (alert, customer), in the
  transaction that moves the cursor, so every event is counted once.
- ``ClockEvaluation``: when alerts and thresholds were last evaluated on a test
  clock, so an advance evaluates each moment once.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from alerts.models.alerts import Alert
from core import clock
from core.models import Customer, TestClock
from metering.models import SUM_DIGITS


class AlertProgress(models.Model):
    """Usage counted so far towards an alert for one customer (Beat, real time).

    Kept for sum and count meters while the pair has not fired; the row goes when
    the alert fires for the customer. ``reached`` is ``value >= alert.gte``.
    """

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # Meter units reported after the alert was created, counted up to the cursor.
    value = models.DecimalField(max_digits=SUM_DIGITS, decimal_places=0)
    reached = models.BooleanField(default=False)
    updated = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "customer"], name="alert_progress_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["alert"], condition=Q(reached=True), name="alert_progress_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} for {self.customer_id}: {self.value}"


class AlertCursor(models.Model):
    """How far meter events are counted into ``AlertProgress``.

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
