"""Revenue per month, kept as invoices change: the dashboard home's figures."""

from django.db import models

from core.modes import LivemodeField, ModeManager


class RevenueMonth(models.Model):
    """What was invoiced (finalized, not void: ``total``) or collected (paid:
    ``amount_paid``) in one UTC month, currency and mode, in minor units; and
    what open invoices finalized in the month still ask (``amount_remaining``).

    On PostgreSQL triggers on ``billing_invoice`` (migrations
    ``0020_revenue_months``, ``0022_revenue_statement_triggers``: one call per
    statement) add each invoice's change to these rows in the
    invoice's own transaction, so the home reads a few dozen rows instead of a
    year of invoices. A month may have several rows, one per ``shard``: as the
    meter rollups do, concurrent transactions each write a shard nobody else
    holds (an advisory lock), so finalizing in parallel never queues on one row.
    On SQLite nothing maintains them; the home sums the invoices instead.
    """

    class Kind(models.TextChoices):
        INVOICED = "invoiced"
        COLLECTED = "collected"
        OPEN = "open"

    id = models.BigAutoField(primary_key=True)
    livemode = LivemodeField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    month = models.DateField()
    currency = models.CharField(max_length=3)
    shard = models.PositiveSmallIntegerField(default=0)
    amount = models.BigIntegerField(default=0)
    objects = ModeManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "kind", "currency", "livemode", "shard"],
                name="billing_revenue_month_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.month:%Y-%m} {self.currency}: {self.amount}"


class UsageRevenueMonth(models.Model):
    """Usage (``metered`` and ``late_usage`` lines) of invoices finalized in one UTC
    month, per product or per customer, currency and mode, in minor units.

    Kept by the same trigger as ``RevenueMonth``: an invoice entering or leaving
    the invoiced statuses adds or takes out its usage lines (frozen once final).
    Products are few, so their rows are sharded as ``RevenueMonth``'s are; a
    customer's invoices rarely finalize concurrently, so a customer has one row
    (shard 0) and the top customers are an index scan.
    """

    class Dimension(models.TextChoices):
        PRODUCT = "product"
        CUSTOMER = "customer"

    id = models.BigAutoField(primary_key=True)
    livemode = LivemodeField()
    month = models.DateField()
    dimension = models.CharField(max_length=16, choices=Dimension.choices)
    key = models.CharField(max_length=64)  # the product's or customer's id
    currency = models.CharField(max_length=3)
    shard = models.PositiveSmallIntegerField(default=0)
    amount = models.BigIntegerField(default=0)
    objects = ModeManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "dimension", "key", "currency", "livemode", "shard"],
                name="billing_usage_month_once",
            )
        ]
        indexes = [
            models.Index(
                fields=["month", "dimension", "livemode", "-amount", "key"],
                name="billing_usage_month_top",
            )
        ]

    def __str__(self) -> str:
        return f"{self.dimension} {self.key} {self.month:%Y-%m}: {self.amount}"
