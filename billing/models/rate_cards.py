"""Rate card migrations: chosen subscriptions moved to another version.

A migration is made as a dry run: each chosen subscription's last full period
re-rated under the version it follows now and under the target version, kept
as one report row per subscription. Confirming pins every chosen subscription
to the target version from its next period start (``effective_at``).
"""

from __future__ import annotations

from django.db import models

from core.ids import id_default
from core.models import Customer, StripeObject
from core.modes import LivemodeField, ModeManager


class RateCardMigration(StripeObject):
    """Moving subscriptions to a rate card version (``rcdm_``, Tally extension)."""

    class Status(models.TextChoices):
        DRY_RUN = "dry_run", "Dry run"
        CONFIRMED = "confirmed"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("rcdm"))
    rate_card_version = models.ForeignKey(
        "catalog.RateCardVersion", on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRY_RUN
    )
    currency = models.CharField(max_length=3)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The report's totals, minor units: last periods under the current versions
    # and under the target version.
    subscription_count = models.PositiveIntegerField(default=0)
    amount_current = models.BigIntegerField(default=0)
    amount_proposed = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return self.id


class RateCardMigrationSubscription(models.Model):
    """One chosen subscription of a migration and its dry-run figures."""

    migration = models.ForeignKey(
        RateCardMigration, on_delete=models.CASCADE, related_name="subscriptions"
    )
    subscription = models.ForeignKey(
        "billing.Subscription", on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    from_version = models.ForeignKey(
        "catalog.RateCardVersion", on_delete=models.PROTECT, related_name="+"
    )
    # The period re-rated ([start, end)); null when none has ended yet.
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    amount_current = models.BigIntegerField(default=0)  # minor units
    amount_proposed = models.BigIntegerField(default=0)  # minor units
    # The period start from which the target version rates it (on confirm).
    effective_at = models.DateTimeField(null=True, blank=True)
    livemode = LivemodeField()

    objects = ModeManager()

    class Meta:
        ordering = ["migration", "customer", "subscription"]
        constraints = [
            models.UniqueConstraint(
                fields=["migration", "subscription"],
                name="rate_card_migration_subscription_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} in {self.migration_id}"
