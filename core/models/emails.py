"""The email outbox: notification emails queued in the sender's own transaction."""

from django.db import models
from django.db.models import Q

from core import clock


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
