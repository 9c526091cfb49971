"""Meters, the raw meter events they count, cancellations, and hourly usage rollups.

Storage is built for tens of millions of events, and for bulk loads of 100,000 a
second, where every index on the events table costs a share of that rate:

- ``MeterEvent`` is append-only. ``(event_name, identifier)`` is unique in each mode
  (``livemode``), so a retried or concurrent duplicate can never be stored (and so
  never counted) twice. Its foreign
  keys carry no database constraint: the ingestion service has checked the meter and
  the customer, and a constraint would add a trigger query to every inserted row.
  Nothing deletes meters; customers are only deleted with their test clock, and the
  ORM cascade then removes their events too. Besides the primary key it has two
  indexes, each chosen for its cost per inserted row (measured with COPY):
  ``(customer, timestamp)`` serves every read of one customer's events over a time
  range (the meter is checked on the rows found: customers have few meters, and
  leaving it out of the key makes each insert a good part cheaper), and a BRIN index
  on ``created`` (PostgreSQL; a few bytes per 128 pages, next to free to maintain as
  rows arrive in receipt order) narrows reads of "received since". Text columns in
  keys use the ``varchar_pattern_ops`` operator class on PostgreSQL: byte-wise
  comparison instead of the locale's collation, which is all that equality on ids and
  names needs, and cheaper per inserted row.
- ``MeterEventAdjustment`` records a cancellation; one per event (unique).
- ``MeterUsageRollup`` holds, per (meter, customer, UTC hour of the event timestamp),
  the sum, the count, the last value by event time and the most recently received
  value. It is updated in the same transaction as the insert or cancel, so usage
  queries read a few hundred rollup rows instead of scanning raw events. Its unique
  key leads with the customer, so it also serves the customer foreign key; as the
  events' keys, its keys carry no database constraint (rollup rows come from checked
  events, and with dimensions an hour has a row per set). An hour may have a few
  rows (``shard``): concurrent writers each update their own, rather than queue for
  one row until the other's commit is on disk.

Values are whole numbers (``Decimal`` with no fraction) in the meter's own unit.
"""

from metering.models.aggregates import (
    MeterHourTotal,
    MeterUsageDay,
    MeterUsageRollup,
)
from metering.models.events import (
    BYTEWISE,
    SUM_DIGITS,
    VALUE_DIGITS,
    BlockRangeIndex,
    Meter,
    MeterDimensionSet,
    MeterEvent,
    MeterEventAdjustment,
    MeterEventKey,
    MeterEventSession,
)

__all__ = [
    "BYTEWISE",
    "SUM_DIGITS",
    "VALUE_DIGITS",
    "BlockRangeIndex",
    "Meter",
    "MeterDimensionSet",
    "MeterEvent",
    "MeterEventAdjustment",
    "MeterEventKey",
    "MeterEventSession",
    "MeterHourTotal",
    "MeterUsageDay",
    "MeterUsageRollup",
]
