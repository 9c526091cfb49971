"""Usage limits (``UsageLimit``) and their crossings in force (``UsageLimitCrossing``),
which cut a feature for the rest of a billing period.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core import clock
from core.ids import id_default
from core.models import Customer, StripeObject, TestClock
from core.modes import LivemodeField, ModeManager
from metering.models import SUM_DIGITS, Meter


class UsageLimit(StripeObject):
    """A cap per billing period that turns a feature off (``ulim_``).

    ``billing.usage_limit``: for one customer, or for every customer subscribed
    to ``price``. ``usage`` limits count a meter's period figure (``gte`` units: sum,
    count, max, distinct values or value-hours; not ``last``);
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
