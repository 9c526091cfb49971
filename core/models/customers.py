"""Customers, the test clocks they can be attached to, and the portal sessions
that show a customer their own pages.
"""

from django.db import models
from django.db.models import Q

from core import clock
from core.ids import id_default
from core.models.base import (
    StripeObject,
)
from core.modes import LivemodeField, ModeManager


class TestClock(models.Model):
    """A simulated "now" that customers can be attached to (``clock_``)."""

    __test__ = False  # not a pytest test class

    class Status(models.TextChoices):
        READY = "ready"
        ADVANCING = "advancing"
        INTERNAL_FAILURE = "internal_failure"

    id = models.CharField(primary_key=True, max_length=40, default=id_default("clock"))
    name = models.CharField(max_length=300, blank=True)
    frozen_time = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default="ready")
    advancing_to = models.DateTimeField(null=True, blank=True)
    failure_message = models.TextField(blank=True)
    # The advance's runner: its token ("" while queued) and when its lease ends
    # (wall-clock time); past that, the runner is presumed dead and the Beat job
    # hands the advance to a new one (core.services.test_clocks).
    advance_lease_token = models.CharField(max_length=40, blank=True, default="")
    advance_leased_until = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=clock.now, editable=False)
    deletes_after = models.DateTimeField()
    livemode = LivemodeField()
    objects = ModeManager()

    class Meta:
        ordering = ["-created"]
        indexes = [
            models.Index(fields=["-created", "-id"], name="core_testclock_page"),
            models.Index(
                fields=["advance_leased_until"],
                name="core_testclock_advancing",
                condition=models.Q(status="advancing"),
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.id


# A 32-bit column; nine digits leave room for the numbers that follow.
MAX_INVOICE_SEQUENCE = 999_999_999


class Customer(StripeObject):
    """A billed party (``cus_``). Deleting keeps the row, flagged, for its invoices."""

    class TaxExempt(models.TextChoices):
        NONE = "none"
        EXEMPT = "exempt"
        REVERSE = "reverse"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("cus"))
    name = models.CharField(max_length=256, blank=True, null=True)
    email = models.CharField(max_length=512, blank=True, null=True, db_index=True)
    description = models.TextField(blank=True, null=True)
    phone = models.CharField(max_length=40, blank=True, null=True)
    address = models.JSONField(null=True, blank=True)
    shipping = models.JSONField(null=True, blank=True)
    balance = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, blank=True, null=True)
    invoice_prefix = models.CharField(max_length=12, unique=True)
    next_invoice_sequence = models.PositiveIntegerField(default=1)
    invoice_settings = models.JSONField(default=dict, blank=True)
    preferred_locales = models.JSONField(default=list, blank=True)
    tax_exempt = models.CharField(
        max_length=10, choices=TaxExempt.choices, default=TaxExempt.NONE
    )
    test_clock = models.ForeignKey(
        TestClock,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="customers",
    )
    deleted = models.BooleanField(default=False)

    class Meta(StripeObject.Meta):
        constraints = [
            models.CheckConstraint(
                condition=Q(next_invoice_sequence__gte=1),
                name="customer_sequence_positive",
            )
        ]

    def __str__(self) -> str:
        return self.name or self.email or self.id


class PortalSession(models.Model):
    """A link that shows one customer their own pages (``billing_portal.session``).

    The URL carries a random secret; only its SHA-256 is stored, like API keys, so
    a database leak does not open anyone's pages. It stops working at
    ``expires_at`` or when revoked.
    """

    id = models.CharField(primary_key=True, max_length=40, default=id_default("bps"))
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="portal_sessions"
    )
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    return_url = models.URLField(max_length=2048, blank=True, null=True)
    livemode = LivemodeField()
    created = models.DateTimeField(default=clock.now, editable=False)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_opened_at = models.DateTimeField(null=True, blank=True)
    # The link, kept for the API response only while the secret is known.
    url = ""
    objects = ModeManager()

    class Meta:
        verbose_name = "customer page link"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"Customer page link for {self.customer_id}"
