"""Revenue per month, kept as invoices change: the dashboard home's figures."""

from django.db import models

from core.modes import LivemodeField, ModeManager


class RevenueMonth(models.Model):
    """What was invoiced (finalized, not void: ``total``) or collected (paid:
    ``amount_paid``) in one UTC month, currency and mode, in minor units.

    On PostgreSQL a trigger on ``billing_invoice`` (migration
    ``0020_revenue_months``) adds each invoice's change to these rows in the
    invoice's own transaction, so the home reads a few dozen rows instead of a
    year of invoices. A month may have several rows, one per ``shard``: as the
    meter rollups do, concurrent transactions each write a shard nobody else
    holds (an advisory lock), so finalizing in parallel never queues on one row.
    On SQLite nothing maintains them; the home sums the invoices instead.
    """

    class Kind(models.TextChoices):
        INVOICED = "invoiced"
        COLLECTED = "collected"

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
