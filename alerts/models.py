"""Usage alerts, their firings, and the threshold invoices they guard.

- ``Alert`` (``alrt_``, ``billing.alert``): a ``usage_threshold`` on one meter, for
  one customer (the filter) or for every customer individually. It counts only
  usage reported after it was created: ``after_event_id`` is the highest meter
  event id when it was created, and meter event ids are the order of receipt.
- ``AlertTrigger``: one firing of an alert for one customer. ``(alert, customer)``
  is unique, so a ``one_time`` alert fires once per customer whatever reruns or
  parallel workers do.
- ``ThresholdInvoice``: one billing-threshold invoice of a subscription period.
  ``(subscription, period_start, sequence)`` is unique, so a crossing is invoiced
  once even by two workers that both saw it.
- ``AlertProgress`` and ``AlertCursor``: the Beat job counts usage incrementally.
  The cursor says up to which meter event (receipt order) usage has been counted;
  each run adds the newer events to the progress of each (alert, customer), in the
  transaction that moves the cursor, so every event is counted once.
- ``ClockEvaluation``: when alerts and thresholds were last evaluated on a test
  clock, so an advance evaluates each moment once.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core import clock
from core.ids import id_default
from core.models import Customer, StripeObject, TestClock
from core.modes import LivemodeField, ModeManager
from metering.models import SUM_DIGITS, Meter

# The 25 alerts Stripe allows per (meter, customer) that are not archived.
MAX_ALERTS_PER_METER_AND_CUSTOMER = 25


class Alert(StripeObject):
    """A usage alert (``billing.alert``): fires when usage reaches ``gte``."""

    class AlertType(models.TextChoices):
        USAGE_THRESHOLD = "usage_threshold"

    class Status(models.TextChoices):
        ACTIVE = "active"
        INACTIVE = "inactive"
        ARCHIVED = "archived"

    class Recurrence(models.TextChoices):
        ONE_TIME = "one_time", "One time per customer"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("alrt"))
    alert_type = models.CharField(
        max_length=20, choices=AlertType.choices, default=AlertType.USAGE_THRESHOLD
    )
    title = models.CharField(max_length=256)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="+")
    # The customer filter; null: the alert applies to every customer individually.
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="usage_alerts",
    )
    # Usage in the meter's unit at which the alert fires (inclusive).
    gte = models.BigIntegerField()
    recurrence = models.CharField(
        max_length=10, choices=Recurrence.choices, default=Recurrence.ONE_TIME
    )
    # The filter customer's clock: ``created`` is on that clock's time.
    test_clock = models.ForeignKey(
        TestClock, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Events with a higher id were reported after the alert was created.
    after_event_id = models.BigIntegerField(default=0, editable=False)
    updated = models.DateTimeField(default=clock.now)

    class Meta(StripeObject.Meta):
        indexes = [
            *StripeObject.Meta.indexes,
            # Evaluation: the active alerts, by meter.
            models.Index(fields=["status", "meter"], name="alert_by_status_meter"),
            models.Index(fields=["meter", "customer"], name="alert_by_meter_customer"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(gte__gt=0), name="alert_gte_positive"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class AlertTrigger(models.Model):
    """One firing of an alert for one customer (``billing.alert_triggered``)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="triggers")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # The usage (meter unit) that reached the threshold.
    value = models.DecimalField(max_digits=SUM_DIGITS, decimal_places=0)
    # When it fired, on the customer's clock.
    created = models.DateTimeField(default=clock.now)
    livemode = LivemodeField()
    # The ``billing.alert.triggered`` event it recorded.
    event_id = models.CharField(max_length=40, blank=True)
    objects = ModeManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "customer"], name="alert_trigger_once_per_customer"
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "-created"], name="alert_trigger_customer"
            ),
            models.Index(fields=["-created"], name="alert_trigger_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} for {self.customer_id}"


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
    """How far the Beat job has counted meter events into ``AlertProgress``.

    One row. Events with ``id <= event_id`` are counted; cancellations received
    up to ``received_until`` are accounted for.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    event_id = models.BigIntegerField(default=0)
    received_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"alerts counted up to event {self.event_id}"


class ThresholdInvoice(models.Model):
    """A ``subscription_threshold`` invoice issued when a billing threshold was met.

    ``sequence`` counts the threshold invoices of the subscription's period from 1.
    """

    subscription = models.ForeignKey(
        "billing.Subscription", on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    period_start = models.DateTimeField()
    sequence = models.PositiveIntegerField()
    invoice = models.OneToOneField(
        "billing.Invoice", on_delete=models.CASCADE, related_name="+"
    )
    # Stripe's ``threshold_reason`` as the invoice carries it.
    reason = models.JSONField(default=dict)
    # The amount compared with ``amount_gte`` (minor units), null if not set.
    amount = models.BigIntegerField(null=True, blank=True)
    created = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_start", "sequence"],
                name="threshold_invoice_once_per_crossing",
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "-created"], name="threshold_invoice_customer"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} #{self.sequence}"


class ClockEvaluation(models.Model):
    """The last moment alerts and thresholds were evaluated on a test clock."""

    test_clock = models.OneToOneField(
        TestClock, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    evaluated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.test_clock_id} at {self.evaluated_at:%Y-%m-%d %H:%M:%S}"
