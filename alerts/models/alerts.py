"""Usage and credit balance alerts and their firings.

- ``Alert`` (``alrt_``, ``billing.alert``): a ``usage_threshold`` on one meter, for
  one customer (the filter) or for every customer individually. It counts only
  usage reported after it was created: ``after_event_id`` is the highest meter
  event id when it was created, and meter event ids are the order of receipt.
- ``AlertTrigger``: one firing of an alert for one customer. ``(alert, customer)``
  is unique, so a ``one_time`` alert fires once per customer whatever reruns or
  parallel workers do.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core import clock
from core.ids import id_default
from core.models import Customer, StripeObject, TestClock
from core.modes import LivemodeField, ModeManager
from core.money import format_minor
from metering.models import SUM_DIGITS, Meter

# The 25 alerts Stripe allows per (meter, customer) that are not archived.
MAX_ALERTS_PER_METER_AND_CUSTOMER = 25


class Alert(StripeObject):
    """An alert (``billing.alert``): a ``usage_threshold`` fires when a meter's
    usage reaches ``gte``; a ``credit_balance_threshold`` fires when the filter
    customer's credit balance, after the usage not yet invoiced, falls to
    ``lte_value`` (minor units of ``lte_currency``)."""

    class AlertType(models.TextChoices):
        USAGE_THRESHOLD = "usage_threshold"
        CREDIT_BALANCE_THRESHOLD = "credit_balance_threshold"

    class Status(models.TextChoices):
        ACTIVE = "active"
        INACTIVE = "inactive"
        ARCHIVED = "archived"

    class Recurrence(models.TextChoices):
        ONE_TIME = "one_time", "One time per customer"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("alrt"))
    alert_type = models.CharField(
        max_length=30, choices=AlertType.choices, default=AlertType.USAGE_THRESHOLD
    )
    title = models.CharField(max_length=256)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    # Usage thresholds only.
    meter = models.ForeignKey(
        Meter, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The customer filter; null: the alert applies to every customer individually.
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="usage_alerts",
    )
    # Usage in the meter's unit at which the alert fires (inclusive).
    gte = models.BigIntegerField(null=True, blank=True)
    # Credit balance thresholds: the balance (minor units, inclusive) at which it
    # fires, and its currency.
    lte_value = models.BigIntegerField(null=True, blank=True)
    lte_currency = models.CharField(max_length=3, null=True, blank=True)
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
            # Also the counted pass: the alerts of a (meter, customer) created at
            # one point whose threshold a usage reaches (alerts.services.progress).
            models.Index(
                fields=["meter", "customer", "after_event_id", "gte"],
                name="alert_by_meter_customer_mark",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(gte__gt=0) | Q(gte__isnull=True), name="alert_gte_positive"
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        alert_type="usage_threshold",
                        meter__isnull=False,
                        gte__isnull=False,
                    )
                    | Q(
                        alert_type="credit_balance_threshold",
                        customer__isnull=False,
                        lte_value__gte=0,
                        lte_currency__isnull=False,
                    )
                ),
                name="alert_type_has_its_threshold",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_credit_balance(self) -> bool:
        return self.alert_type == self.AlertType.CREDIT_BALANCE_THRESHOLD

    @property
    def threshold_display(self) -> str:
        if self.is_credit_balance:
            return f"credit balance ≤ {format_minor(self.lte_value, self.lte_currency)}"
        return f"≥ {self.gte:,}"

    @property
    def watches_display(self) -> str:
        """What the alert watches: its meter, or the credit balance."""
        if self.is_credit_balance:
            return f"Credit balance ({self.lte_currency.upper()})"
        return self.meter.display_name if self.meter else ""

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
