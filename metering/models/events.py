"""Meters, the raw meter events they count, their cancellations and dimension
sets, and v2 event sessions (see ``metering.models`` for the storage design)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core import clock
from core.ids import id_default
from core.models import Customer, StripeObject
from core.modes import LivemodeField, ModeManager

# Whole-number values: at most 15 significant digits, 30 digits in all.
VALUE_DIGITS = 30
# Sums of many values need more room than one value.
SUM_DIGITS = 38
# Operator class of indexed text columns on PostgreSQL (other databases ignore it):
# byte-wise comparison, cheaper than the collation's for every inserted row.
BYTEWISE = "varchar_pattern_ops"


class BlockRangeIndex(models.Index):
    """A BRIN index on PostgreSQL, a plain index elsewhere.

    BRIN keeps the range of values of each run of 128 table pages: next to nothing to
    maintain on an append-only table whose column grows with insertion order, and it
    still lets a "since" read skip the older pages. Other databases have no BRIN.
    """

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor == "postgresql":
            using = " USING brin"
        return super().create_sql(model, schema_editor, using=using, **kwargs)


class Meter(StripeObject):
    """A billing meter (``mtr_``): aggregates meter events of one ``event_name``."""

    class Formula(models.TextChoices):
        SUM = "sum"
        COUNT = "count"
        LAST = "last"
        # Beyond Stripe (``metering.usage``): the largest value, the number of
        # distinct values of a dimension, and a gauge's value x hours.
        MAX = "max"
        UNIQUE_COUNT = "unique_count"
        TIME_WEIGHTED_SUM = "time_weighted_sum"

    class Status(models.TextChoices):
        ACTIVE = "active"
        INACTIVE = "inactive"

    class TimeWindow(models.TextChoices):
        DAY = "day"
        HOUR = "hour"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("mtr"))
    display_name = models.CharField(max_length=250)
    event_name = models.CharField(max_length=100)
    formula = models.CharField(max_length=20, choices=Formula.choices)
    # Payload keys whose values split usage into segments (Stripe's
    # ``dimension_payload_keys``); set at creation only.
    dimension_payload_keys = models.JSONField(default=list, blank=True)
    # ``unique_count``: the dimension whose distinct values are counted.
    unique_payload_key = models.CharField(max_length=100, null=True, blank=True)
    customer_payload_key = models.CharField(
        max_length=100, default="stripe_customer_id"
    )
    value_payload_key = models.CharField(max_length=100, default="value")
    event_time_window = models.CharField(
        max_length=10, choices=TimeWindow.choices, null=True, blank=True
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    status_transitions_deactivated_at = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField(default=clock.now)

    class Meta(StripeObject.Meta):
        constraints = [
            models.UniqueConstraint(
                # Each mode has its meters: a test and a live meter share a name.
                fields=["livemode", "event_name"],
                condition=Q(status="active"),
                name="meter_one_active_per_mode_event_name",
            )
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.event_name})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def dimension_keys(self) -> tuple[str, ...]:
        return tuple(self.dimension_payload_keys or ())


class MeterEvent(models.Model):
    """One reported usage (``billing.meter_event``); never updated or deleted.

    ``id`` is the order of receipt: of two events, the higher id arrived later.
    ``created`` is when it was received, on the customer's clock; ``timestamp`` is when
    the usage happened. ``dimension_set`` names the values of the meter's declared
    dimensions (``MeterDimensionSet``; 0 for a meter without dimensions), and
    ``dimensions`` keeps the other payload keys besides the customer and value
    keys (null when there are none).
    """

    id = models.BigAutoField(primary_key=True)
    # The composite indexes below serve every lookup; no single-column FK indexes.
    meter = models.ForeignKey(
        Meter,
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,
        related_name="events",
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    event_name = models.CharField(max_length=100)
    identifier = models.CharField(max_length=100)
    value = models.DecimalField(max_digits=VALUE_DIGITS, decimal_places=0)
    timestamp = models.DateTimeField()
    created = models.DateTimeField()
    livemode = LivemodeField()
    dimensions = models.JSONField(null=True, blank=True)
    # Digest of the API key and Idempotency-Key that created the event (v1 API),
    # so that a retry with that key gets the event back (``metering.api.views``).
    request_key = models.CharField(max_length=64, null=True, blank=True)
    dimension_set = models.BigIntegerField(default=0, db_default=0)
    objects = ModeManager()

    class Meta:
        constraints = [
            # Per mode: each mode is its own world (``core.modes``), so the same
            # events sent to test and to live are both recorded, once each.
            models.UniqueConstraint(
                fields=["livemode", "event_name", "identifier"],
                name="meter_event_identifier_once_per_mode",
                opclasses=["bool_ops", BYTEWISE, BYTEWISE],
            )
        ]
        indexes = [
            # Edges of a period, cancel recomputation, latest events: one
            # customer's events over a time range.
            models.Index(
                fields=["customer", "timestamp"],
                name="meter_event_customer_time",
                opclasses=[BYTEWISE, "timestamptz_ops"],
            ),
            # Usage received since a moment (alerts count only usage after creation).
            BlockRangeIndex(fields=["created"], name="meter_event_received_brin"),
        ]

    def __str__(self) -> str:
        return f"{self.event_name} {self.identifier}"


class MeterEventKey(models.Model):
    """The dedupe key of a stored meter event, once per mode, while events are
    partitioned by month (PostgreSQL, ``metering.storage.partitions``).

    A partitioned table's unique keys must hold the partition key, and an event's
    ``timestamp`` is not part of its identity: this table keeps
    ``(livemode, event_name, identifier)`` unique across every month instead. It
    stays empty while events are one table, whose own unique key does that.
    ``event_id`` finds the event of an identifier (a cancel, a replay) without an
    index on the events for it.
    """

    pk = models.CompositePrimaryKey("livemode", "event_name", "identifier")
    livemode = models.BooleanField()
    event_name = models.CharField(max_length=100)
    identifier = models.CharField(max_length=100)
    event_id = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.event_name} {self.identifier}"


class MeterEventAdjustment(models.Model):
    """A cancellation of one meter event (``billing.meter_event_adjustment``)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        COMPLETE = "complete"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("mtradj"))
    event = models.OneToOneField(
        MeterEvent, on_delete=models.CASCADE, related_name="cancellation"
    )
    event_name = models.CharField(max_length=100)
    identifier = models.CharField(max_length=100)
    type = models.CharField(max_length=10, default="cancel")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.COMPLETE
    )
    created = models.DateTimeField(default=clock.now)
    livemode = LivemodeField()
    objects = ModeManager()

    def __str__(self) -> str:
        return f"cancel {self.event_name} {self.identifier}"


class MeterDimensionSet(models.Model):
    """The values of a meter's dimensions that some events carry, interned.

    ``id`` is a 63-bit digest of the meter and the values (``metering.dimensions``),
    so ingestion names a set without a query; this row (written once, before the
    first event that carries it) maps the id back to the values. ``values`` holds
    every declared key, ``""`` for a key an event did not send. An internal table,
    not an API object: its meter carries the mode.
    """

    id = models.BigIntegerField(primary_key=True)
    meter = models.ForeignKey(
        Meter, on_delete=models.CASCADE, db_constraint=False, related_name="+"
    )
    values = models.JSONField()

    def __str__(self) -> str:
        return f"{self.meter_id} {self.values}"


class MeterEventSession(models.Model):
    """A v2 meter event session: a bearer token for the event stream, 15 minutes.

    Only the token's SHA-256 is stored; the token itself is shown once.
    """

    id = models.CharField(
        primary_key=True, max_length=64, default=id_default("mtrsess")
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    livemode = LivemodeField()
    objects = ModeManager()

    def __str__(self) -> str:
        return self.id
