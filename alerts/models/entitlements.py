"""What a customer may use now: its active entitlements (``ActiveEntitlement``)
and the check endpoint's answer kept up to date (``CustomerAccess``).
"""

from __future__ import annotations

from django.db import models

from core import clock
from core.ids import id_default
from core.models import Customer
from core.modes import LivemodeField, ModeManager


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
