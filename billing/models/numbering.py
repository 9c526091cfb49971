"""Account-level invoice numbering: one gap-free counter per mode and prefix."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.modes import LivemodeField, ModeManager


class InvoiceNumberSequence(models.Model):
    """The next number of one account-level sequence (``TALLY_INVOICE_PREFIX``).

    Finalization locks the row, takes numbers and moves ``next_value`` in its own
    transaction, so a rollback gives the numbers back: no gap, no repeat.
    """

    prefix = models.CharField(max_length=12)
    next_value = models.PositiveBigIntegerField(default=1)
    livemode = LivemodeField()
    objects = ModeManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["livemode", "prefix"], name="invoice_number_sequence_unique"
            ),
            models.CheckConstraint(
                condition=Q(next_value__gte=1), name="invoice_number_sequence_positive"
            ),
        ]

    def __str__(self) -> str:
        mode = "live" if self.livemode else "test"
        return f"{self.prefix} ({mode}): next {self.next_value}"
