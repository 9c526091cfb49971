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
            models.Index(fields=["meter", "customer"], name="alert_by_meter_customer"),
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


class ActiveEntitlement(models.Model):
    """A feature a customer holds now (``ent_``, ``entitlements.active_entitlement``).

    Materialized: rewritten when the customer's subscriptions change and when a
    usage limit cuts or restores a feature (``alerts.services.entitlements``).
    """

    id = models.CharField(primary_key=True, max_length=64, default=id_default("ent"))
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    feature = models.ForeignKey(
        "catalog.Feature", on_delete=models.CASCADE, related_name="+"
    )
    lookup_key = models.CharField(max_length=80)
    livemode = LivemodeField()
    created = models.DateTimeField(default=clock.now, editable=False)

    objects = ModeManager()

    class Meta:
        indexes = [
            models.Index(fields=["-created", "-id"], name="alerts_entitlement_page"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "feature"], name="active_entitlement_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lookup_key} for {self.customer_id}"


class UsageLimit(StripeObject):
    """A cap per billing period that turns a feature off (``ulim_``).

    ``billing.usage_limit``: for one customer, or for every customer subscribed
    to ``price``. ``usage`` limits count a sum or count meter (``gte`` units);
    ``monetary`` limits compare the period's metered spend after credits
    (``amount_gte``, minor units of ``currency``). Reaching the level cuts
    ``feature`` until the next period, a raise, or (monetary) new credits.
    """

    class LimitType(models.TextChoices):
        USAGE = "usage"
        MONETARY = "monetary"

    class Status(models.TextChoices):
        ACTIVE = "active"
        INACTIVE = "inactive"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("ulim"))
    limit_type = models.CharField(max_length=10, choices=LimitType.choices)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="usage_limits",
    )
    price = models.ForeignKey(
        "catalog.Price",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    feature = models.ForeignKey(
        "catalog.Feature", on_delete=models.PROTECT, related_name="+"
    )
    meter = models.ForeignKey(
        Meter, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Meter units at which access is cut (inclusive); usage limits only.
    gte = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, null=True, blank=True)
    # Minor units of spend after credits at which access is cut; monetary only.
    amount_gte = models.BigIntegerField(null=True, blank=True)
    # The customer's clock, copied so jobs split clock and real-time work.
    test_clock = models.ForeignKey(
        TestClock, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    updated = models.DateTimeField(default=clock.now)

    class Meta(StripeObject.Meta):
        indexes = [
            *StripeObject.Meta.indexes,
            models.Index(fields=["status", "customer"], name="usage_limit_customer"),
            models.Index(fields=["status", "price"], name="usage_limit_price"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(customer__isnull=True, price__isnull=False)
                | Q(customer__isnull=False, price__isnull=True),
                name="usage_limit_customer_or_price",
            ),
            models.CheckConstraint(
                condition=Q(
                    limit_type="usage",
                    meter__isnull=False,
                    gte__gt=0,
                    currency__isnull=True,
                    amount_gte__isnull=True,
                )
                | Q(
                    limit_type="monetary",
                    meter__isnull=True,
                    gte__isnull=True,
                    currency__isnull=False,
                    amount_gte__gt=0,
                ),
                name="usage_limit_level_matches_type",
            ),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def level(self) -> int:
        """The level that cuts access: units, or minor units of spend."""
        return self.gte if self.limit_type == self.LimitType.USAGE else self.amount_gte


class UsageLimitCrossing(models.Model):
    """A usage limit reached by one customer in one period: the feature is cut.

    In force while ``lifted_at`` is null; at most one per (limit, customer) is in
    force, and ``(limit, customer, period_start, sequence)`` is unique, so a
    crossing is acted on once whatever reruns or parallel workers do.
    """

    class LiftReason(models.TextChoices):
        PERIOD_ENDED = "period_ended"
        LIMIT_RAISED = "limit_raised"
        CREDITS_GRANTED = "credits_granted"
        USAGE_CORRECTED = "usage_corrected"
        LIMIT_DEACTIVATED = "limit_deactivated"
        NO_SUBSCRIPTION = "no_subscription"

    limit = models.ForeignKey(
        UsageLimit, on_delete=models.CASCADE, related_name="crossings"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    # Crossings of the same period (after a raise or new credits) count from 1.
    sequence = models.PositiveIntegerField(default=1)
    # Units, or minor units of spend, when the crossing was seen.
    value = models.DecimalField(max_digits=SUM_DIGITS, decimal_places=0)
    # The limit's level then (``gte`` or ``amount_gte``).
    level = models.BigIntegerField()
    # On the customer's clock.
    created = models.DateTimeField(default=clock.now)
    livemode = LivemodeField()
    lifted_at = models.DateTimeField(null=True, blank=True)
    lift_reason = models.CharField(
        max_length=20, choices=LiftReason.choices, blank=True
    )

    objects = ModeManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["limit", "customer", "period_start", "sequence"],
                name="usage_limit_crossing_once",
            ),
            models.UniqueConstraint(
                fields=["limit", "customer"],
                condition=Q(lifted_at__isnull=True),
                name="usage_limit_crossing_one_in_force",
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "-created"], name="usage_limit_crossing_cust"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.limit_id} crossed by {self.customer_id}"


class CustomerAccess(models.Model):
    """What the check endpoint answers for one customer, kept up to date.

    Rewritten by limit evaluation and entitlement changes, so a check is one read
    of one row. The row is also the lock that serialises access decisions for
    the customer.
    """

    customer = models.OneToOneField(
        Customer, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    livemode = LivemodeField()
    # The check response body (without the ETag).
    body = models.JSONField(default=dict)
    etag = models.CharField(max_length=64, blank=True)
    # When the figures were read, on the customer's clock.
    as_of = models.DateTimeField(null=True, blank=True)

    objects = ModeManager()

    def __str__(self) -> str:
        return f"access of {self.customer_id}"
