"""API access: secret keys (``ApiKey``) and idempotency records (``IdempotencyKey``)."""

from django.db import models

from core import clock
from core.ids import id_default


class ApiKey(models.Model):
    """A secret (``sk_``) or restricted (``rk_``) API key. Only its SHA-256 is
    stored; the secret is shown once."""

    id = models.CharField(primary_key=True, max_length=40, default=id_default("key"))
    name = models.CharField(max_length=100, blank=True)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    # What staff see to tell keys apart: "sk_test_...wXyZ".
    redacted = models.CharField(max_length=40, editable=False)
    livemode = models.BooleanField(default=False)
    # None: a secret key, full access. A restricted key: resource -> none, read or
    # write, "*" for every resource not named (core.api.access).
    permissions = models.JSONField(null=True, blank=True, editable=False)
    created = models.DateTimeField(default=clock.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name or 'API key'} ({self.redacted})"

    @property
    def is_restricted(self) -> bool:
        return self.permissions is not None

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
