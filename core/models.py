"""Core objects: API keys, idempotency records, test clocks, customers, events."""

from django.db import models
from django.db.models import Q

from core import clock
from core.ids import id_default
from core.modes import LivemodeField, ModeManager


class StripeObject(models.Model):
    """Fields every API object carries: ``created``, ``livemode``, ``metadata``.

    Concrete models declare their own ``id`` with the object's Stripe prefix.
    Lists are ordered newest first by (created, id), which the index serves.
    """

    created = models.DateTimeField(default=clock.now, editable=False)
    livemode = LivemodeField()
    metadata = models.JSONField(default=dict, blank=True)
    objects = ModeManager()

    class Meta:
        abstract = True
        indexes = [
            models.Index(
                fields=["-created", "-id"], name="%(app_label)s_%(class)s_page"
            )
        ]


class ApiKey(models.Model):
    """A secret API key. Only its SHA-256 is stored; the secret is shown once."""

    id = models.CharField(primary_key=True, max_length=40, default=id_default("key"))
    name = models.CharField(max_length=100, blank=True)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    # What staff see to tell keys apart: "sk_test_...wXyZ".
    redacted = models.CharField(max_length=40, editable=False)
    livemode = models.BooleanField(default=False)
    created = models.DateTimeField(default=clock.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name or 'API key'} ({self.redacted})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyKey(models.Model):
    """The first response to a POST with an ``Idempotency-Key``, replayed on retries."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress"
        DONE = "done"

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(null=True)
    request_id = models.CharField(max_length=40, blank=True)
    created = models.DateTimeField(default=clock.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "key"], name="idempotency_key_once"
            )
        ]

    def __str__(self) -> str:
        return self.key


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


class Event(models.Model):
    """An immutable record of a state change (``evt_``), the source of webhooks."""

    id = models.CharField(primary_key=True, max_length=40, default=id_default("evt"))
    type = models.CharField(max_length=100, db_index=True)
    api_version = models.CharField(max_length=40)
    data = models.JSONField()
    object_id = models.CharField(max_length=64, db_index=True)
    request_id = models.CharField(max_length=40, null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    livemode = LivemodeField()
    created = models.DateTimeField(default=clock.now, editable=False)
    objects = ModeManager()

    class Meta:
        indexes = [models.Index(fields=["-created", "-id"], name="core_event_page")]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


# ---- webhooks and notifications -----------------------------------------------


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


class OutboundEmail(models.Model):
    """A rendered notification email, queued in the sender's own transaction.

    A task sends it after commit; a Beat job retries while the mail server is down.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    template = models.CharField(max_length=200)
    to = models.JSONField(default=list)
    subject = models.CharField(max_length=998)
    text = models.TextField()
    html = models.TextField(blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    created = models.DateTimeField(default=clock.now)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "email"
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status="pending"),
                name="outbound_email_due",
            ),
        ]

    def __str__(self) -> str:
        return self.subject
