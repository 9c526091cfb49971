"""Events and their webhooks: endpoints, one delivery per event and endpoint, and
each attempt of a delivery.
"""

from django.db import models
from django.db.models import Q

from core import clock
from core.ids import id_default
from core.models.base import (
    StripeObject,
)
from core.modes import LivemodeField, ModeManager


class Event(models.Model):
    """An immutable record of a state change (``evt_``), the source of webhooks."""

    id = models.CharField(primary_key=True, max_length=40, default=id_default("evt"))
    type = models.CharField(max_length=100, db_index=True)
    api_version = models.CharField(max_length=40)
    data = models.JSONField()
    object_id = models.CharField(max_length=64, db_index=True)
    request_id = models.CharField(max_length=40, null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    # Who made the change (``core.audit``); not part of the API's event.
    actor = models.CharField(max_length=200, blank=True, default="")
    livemode = LivemodeField()
    created = models.DateTimeField(default=clock.now, editable=False)
    objects = ModeManager()

    class Meta:
        indexes = [models.Index(fields=["-created", "-id"], name="core_event_page")]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class AuditEntry(Event):
    """The audit log: events seen as who changed what and when (``core.audit``)."""

    class Meta:
        proxy = True
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"


class WebhookEndpoint(StripeObject):
    """A URL that receives events as signed POSTs (``we_``)."""

    class Status(models.TextChoices):
        ENABLED = "enabled"
        DISABLED = "disabled"

    class DisabledReason(models.TextChoices):
        MANUAL = "manual"
        FAILING = "failing", "failing for too long"

    id = models.CharField(primary_key=True, max_length=40, default=id_default("we"))
    url = models.CharField(max_length=2048)
    description = models.CharField(max_length=5000, null=True, blank=True)
    # Event types, or ["*"] for every event.
    enabled_events = models.JSONField(default=list)
    api_version = models.CharField(max_length=40, null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ENABLED
    )
    disabled_reason = models.CharField(
        max_length=10, choices=DisabledReason.choices, blank=True
    )
    # Since when events reach it: set on create and when re-enabled.
    enabled_at = models.DateTimeField(default=clock.now)
    disabled_at = models.DateTimeField(null=True, blank=True)
    secret = models.CharField(max_length=100, editable=False)
    # After "roll secret" the old secret also signs (a second v1=) until it expires.
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # The first failed attempt since the last successful one; None while healthy.
    failing_since = models.DateTimeField(null=True, blank=True)

    class Meta(StripeObject.Meta):
        verbose_name = "webhook endpoint"
        verbose_name_plural = "webhooks"

    def __str__(self) -> str:
        return self.url

    @property
    def is_enabled(self) -> bool:
        return self.status == self.Status.ENABLED


class WebhookDelivery(models.Model):
    """One event for one endpoint: its state and retry schedule.

    A worker may send only while it holds the lease (``lease_token`` until
    ``leased_until``); the unique (endpoint, event) pair means an event enqueued
    twice is still delivered once.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed", "failed (retries exhausted)"
        CANCELED = "canceled", "canceled (endpoint disabled)"

    # Indexed through webhook_delivery_once (endpoint, event) and the ones below.
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,
    )
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    created = models.DateTimeField(default=clock.now)
    # Finished attempts; the first attempt is the one with attempt_count == 0.
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    leased_until = models.DateTimeField(null=True, blank=True)
    # When the lease was taken: the earliest moment the attempt can be recorded at.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # Set while an attempt is being sent (so later events may start).
    sending_since = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event"], name="webhook_delivery_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status="pending"),
                name="webhook_delivery_due",
            ),
            models.Index(
                fields=["endpoint", "id"],
                condition=Q(status="pending", attempt_count=0),
                name="webhook_delivery_first",
            ),
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_recent"),
            # The dashboard home's "failed" figure: few rows, kept apart.
            models.Index(
                fields=["completed_at"],
                condition=Q(status="failed"),
                name="webhook_delivery_failed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id}"


class WebhookDeliveryAttempt(models.Model):
    """One POST of a delivery: what the receiver answered, and how fast."""

    EXCERPT_LIMIT = 2048  # characters of the response body kept

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempts"
    )
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField()
    succeeded = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "number"], name="webhook_attempt_once"
            ),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
