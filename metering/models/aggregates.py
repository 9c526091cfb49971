"""Usage kept as events arrive: hourly rollups per customer, their days, and
hourly totals per meter over every customer (see ``metering.models``)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.models import Customer
from metering.models.events import BYTEWISE, SUM_DIGITS, VALUE_DIGITS, Meter


class MeterUsageRollup(models.Model):
    """Usage of one customer on one meter in one UTC hour (by event timestamp),
    per dimension set (0 for meters without dimensions).

    ``last_*`` is the event latest by (timestamp, id): the ``last`` formula.
    ``latest_*`` is the event received last (highest id): ``event_time_window``
    meters count only that one per window. Both are null once every event of the hour
    is cancelled; ``event_count`` is then 0.

    An hour may have several rows, one per ``shard``, each summarising some of its
    events: the hour is their sum (and the latest of their ``last_*`` and
    ``latest_*``), as ``metering.usage`` merges cells. Ingestion writes the shard of
    its database session (``storage``), so concurrent writers of a busy hour do not
    wait for each other; cancelling an event merges the hour back into one row.
    """

    id = models.BigAutoField(primary_key=True)
    # No database constraints, as the events' (``metering.models``): each new row
    # would queue two key checks for the commit (with dimensions, a row per set of
    # an hour: a tenth of the PostgreSQL CPU per event of a bulk import). The rows
    # come from events whose meter and customer ingestion checked; the ORM cascades.
    meter = models.ForeignKey(
        Meter,
        on_delete=models.CASCADE,
        db_index=False,
        db_constraint=False,
        related_name="+",
    )
    # The unique key below leads with the customer and serves this foreign key.
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        db_index=False,
        db_constraint=False,
        related_name="+",
    )
    bucket = models.DateTimeField()
    value_sum = models.DecimalField(max_digits=SUM_DIGITS, decimal_places=0)
    event_count = models.BigIntegerField()
    last_timestamp = models.DateTimeField(null=True)
    last_seq = models.BigIntegerField(null=True)
    last_value = models.DecimalField(
        max_digits=VALUE_DIGITS, decimal_places=0, null=True
    )
    latest_seq = models.BigIntegerField(null=True)
    latest_value = models.DecimalField(
        max_digits=VALUE_DIGITS, decimal_places=0, null=True
    )
    shard = models.PositiveSmallIntegerField(default=0, db_default=0)
    dimension_set = models.BigIntegerField(default=0, db_default=0)
    # The largest value of the hour's events (the ``max`` formula).
    value_max = models.DecimalField(
        max_digits=VALUE_DIGITS, decimal_places=0, null=True
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "meter", "bucket", "dimension_set", "shard"],
                name="meter_rollup_bucket_set_once",
                opclasses=[
                    BYTEWISE,
                    BYTEWISE,
                    "timestamptz_ops",
                    "int8_ops",
                    "int2_ops",
                ],
            ),
            models.CheckConstraint(
                condition=Q(event_count__gte=0), name="meter_rollup_count_not_negative"
            ),
        ]
        indexes = [
            models.Index(
                fields=["meter", "bucket"],
                name="meter_rollup_by_time",
                opclasses=[BYTEWISE, "timestamptz_ops"],
            )
        ]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.customer_id} {self.bucket:%Y-%m-%d %H:00}"


class MeterUsageDay(models.Model):
    """``MeterUsageRollup``'s sum and count per UTC day: the day's hours of one
    (meter, customer, dimension set, shard) added up, 24 times fewer rows for
    whole days of ``sum`` and ``count`` meters. The ingest statements add to them
    (``metering.storage.summaries``), triggers on the hours for every other writer
    (``metering.storage.days``); a shard's day takes
    only that shard's hours, so concurrent writers touch distinct rows."""

    id = models.BigAutoField(primary_key=True)
    # No constraints: the hours' hold (the ORM still cascades).
    meter = models.ForeignKey(
        Meter, models.CASCADE, db_index=False, db_constraint=False, related_name="+"
    )
    customer = models.ForeignKey(
        Customer, models.CASCADE, db_index=False, db_constraint=False, related_name="+"
    )
    bucket = models.DateTimeField()  # midnight UTC, named as the hours' column
    dimension_set = models.BigIntegerField(default=0, db_default=0)
    # The hours' shard, checked there (a CHECK here cost every ingest statement).
    shard = models.SmallIntegerField(default=0, db_default=0)
    value_sum = models.DecimalField(max_digits=SUM_DIGITS, decimal_places=0)
    event_count = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "meter", "bucket", "dimension_set", "shard"],
                name="meter_usage_day_once",
                opclasses=[
                    BYTEWISE,
                    BYTEWISE,
                    "timestamptz_ops",
                    "int8_ops",
                    "int2_ops",
                ],
            )
        ]
        indexes = [
            models.Index(
                fields=["meter", "bucket"],
                name="meter_usage_day_by_time",
                opclasses=[BYTEWISE, "timestamptz_ops"],
            )
        ]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.customer_id} {self.bucket:%Y-%m-%d}"


class MeterHourTotal(models.Model):
    """Usage of one meter in one UTC hour over every customer: the sums of its
    ``MeterUsageRollup`` rows, for the meter page's chart of all customers.

    The ingest statements add their batch's hours here as they fold them
    (``metering.storage.summaries``), and a statement trigger on the rollups
    (PostgreSQL, migration ``0012_meter_hour_totals``) each other writer's
    change, in the same transaction, by the rollup row's ``shard``: concurrent
    writers each hold
    their own shard, so they never queue for a total either. SQLite keeps none
    (``metering.totals`` then reads the rollups).
    """

    id = models.BigAutoField(primary_key=True)
    meter = models.ForeignKey(
        Meter, on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    bucket = models.DateTimeField()
    shard = models.SmallIntegerField(default=0)  # the hours' shard, checked there
    value_sum = models.DecimalField(max_digits=SUM_DIGITS, decimal_places=0)
    event_count = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["meter", "bucket", "shard"],
                name="meter_hour_total_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.bucket:%Y-%m-%d %H:00}"
