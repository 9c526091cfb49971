"""What ingestion reads for every event: meters by event name, customers' clocks.

Both change rarely, and every ingestion request needs them, so each process
remembers what it read for a few seconds; a warm process validates an event
without a query. What that allows, and what it does not:

- A meter deactivated, reactivated or replaced in another process is seen here
  within ``METER_SECONDS`` (2 s): until then this process may still accept events
  for a just-deactivated meter. A change made in this process is seen at once:
  saving or deleting a meter forgets every remembered meter (now, and again at
  commit, so that a read racing the transaction cannot keep the old row).
- Likewise a customer deleted in another process may still receive events here for
  up to ``CUSTOMER_SECONDS`` (10 s; customers are many, and each is read again
  when forgotten); saving a customer in this process forgets it at once.
- Customers on a test clock are never remembered: their "now" moves with the clock.
  Event names without a meter and unknown customers are not remembered either, so a
  new meter or customer can be used at once from any process.
- Inside a transaction nothing is remembered nor taken from memory: its rows may
  be uncommitted (and vanish on rollback), and it must see its own changes even
  while another thread remembers the rows as they were. (Tests run that way, and
  so always read; API requests and bulk import read outside one.)
- ``flush`` (between transactional tests) forgets everything.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Collection
from datetime import datetime

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_migrate, post_save

from core.models import Customer, TestClock
from metering import dimensions
from metering.models import Meter
from metering.storage import aware, in_filter, names, quote, raw_cursor

METER_SECONDS = 2.0
CUSTOMER_SECONDS = 10.0
# Far more than any installation has meters; customers are forgotten in bulk.
_CACHE_SIZE = 100_000

# event name -> (monotonic time read, its meters of both modes); customer id ->
# (time read, its livemode).
_meters: dict[str, tuple[float, tuple[Meter, ...]]] = {}
_customers: dict[str, tuple[float, bool]] = {}
_lock = threading.Lock()

# Every column of a meter but its metadata, in model order (``Model.from_db`` wants
# that order when some fields are left deferred).
_METER_FIELDS = tuple(
    field.attname for field in Meter._meta.concrete_fields if field.name != "metadata"
)


@functools.cache
def _meters_sql() -> str:
    return (
        f"SELECT {names(_METER_FIELDS)} FROM {quote(Meter._meta.db_table)} WHERE {{}}"
    )


@functools.cache
def _customers_sql() -> str:
    return (
        "SELECT c.id, k.frozen_time, c.livemode"
        f" FROM {quote(Customer._meta.db_table)} c"
        f" LEFT JOIN {quote(TestClock._meta.db_table)} k ON k.id = c.test_clock_id"
        " WHERE {} AND NOT c.deleted"
    )


def _read_meters(event_names: list[str]) -> list[Meter]:
    condition, params = in_filter("event_name", event_names)
    with raw_cursor() as cursor:
        cursor.execute(_meters_sql().format(condition), params)
        rows = cursor.fetchall()
    meters = []
    for row in rows:
        values = dict(zip(_METER_FIELDS, row, strict=True))
        for name in ("created", "updated", "status_transitions_deactivated_at"):
            values[name] = aware(values[name])
        values["livemode"] = bool(values["livemode"])
        keys = values["dimension_payload_keys"]
        # A raw cursor hands JSON over as text (or already decoded).
        values["dimension_payload_keys"] = (
            json.loads(keys) if isinstance(keys, str | bytes) else keys or []
        )
        meters.append(
            Meter.from_db(connection.alias, list(values), list(values.values()))
        )
    return meters


def _read_customers(customer_ids: list[str]) -> dict[str, tuple[datetime | None, bool]]:
    condition, params = in_filter("c.id", customer_ids)
    with raw_cursor() as cursor:
        cursor.execute(_customers_sql().format(condition), params)
        return {
            customer_id: (aware(frozen_time), bool(livemode))
            for customer_id, frozen_time, livemode in cursor.fetchall()
        }


def _remember(
    meters: list[Meter], customers: dict[str, tuple[datetime | None, bool]]
) -> None:
    read_at = time.monotonic()
    by_name: dict[str, list[Meter]] = {}
    for meter in meters:
        by_name.setdefault(meter.event_name, []).append(meter)
    with _lock:
        if len(_meters) + len(by_name) > _CACHE_SIZE:
            _meters.clear()
        if len(_customers) + len(customers) > _CACHE_SIZE:
            _customers.clear()
        for event_name, group in by_name.items():
            _meters[event_name] = (read_at, tuple(group))
        for customer_id, (frozen_time, livemode) in customers.items():
            if frozen_time is None:
                _customers[customer_id] = (read_at, livemode)


def meters_by_event_name(
    event_names: Collection[str], *, livemode: bool
) -> list[Meter]:
    """The meters (active or not) of these event names in one mode, oldest first."""
    event_names = _nameable(event_names)
    if connection.in_atomic_block:
        return _oldest_first(_read_meters(list(event_names)), livemode)
    now = time.monotonic()
    meters: list[Meter] = []
    missing = []
    for event_name in event_names:
        remembered = _meters.get(event_name)
        if remembered is not None and now - remembered[0] < METER_SECONDS:
            meters.extend(remembered[1])
        else:
            missing.append(event_name)
    if missing:
        read = _read_meters(missing)
        _remember(read, {})
        meters.extend(read)
    return _oldest_first(meters, livemode)


def _nameable(keys: Collection[str]) -> Collection[str]:
    """The keys an object may have: none holds a NUL character (PostgreSQL refuses
    one in a query, and the API never stores one)."""
    if any("\x00" in key for key in keys):
        return [key for key in keys if "\x00" not in key]
    return keys


def _oldest_first(meters: list[Meter], livemode: bool) -> list[Meter]:
    # Another mode's meters are not there for this one (``core.modes``).
    return sorted(
        (meter for meter in meters if meter.livemode == livemode),
        key=lambda meter: (meter.created, meter.id),
    )


def customer_clocks(
    customer_ids: Collection[str], *, livemode: bool
) -> dict[str, datetime | None]:
    """Map each existing, not deleted customer of the mode among the ids to its
    clock's time.

    The time is the frozen time of the customer's test clock, None without one; ids
    of no customer (or of another mode's) are left out.
    """
    customer_ids = _nameable(customer_ids)
    if connection.in_atomic_block:
        return _in_mode(_read_customers(list(customer_ids)), livemode)
    now = time.monotonic()
    found: dict[str, datetime | None] = {}
    missing = []
    for customer_id in customer_ids:
        remembered = _customers.get(customer_id)
        if remembered is not None and now - remembered[0] < CUSTOMER_SECONDS:
            if remembered[1] == livemode:
                found[customer_id] = None
        else:
            missing.append(customer_id)
    if missing:
        read = _read_customers(missing)
        _remember([], read)
        found.update(_in_mode(read, livemode))
    return found


def _in_mode(
    customers: dict[str, tuple[datetime | None, bool]], livemode: bool
) -> dict[str, datetime | None]:
    return {
        customer_id: frozen_time
        for customer_id, (frozen_time, customer_livemode) in customers.items()
        if customer_livemode == livemode
    }


def forget_meters(**_kwargs) -> None:
    with _lock:
        _meters.clear()


def forget_everything(**_kwargs) -> None:
    with _lock:
        _meters.clear()
        _customers.clear()
    dimensions.forget()


def _meter_changed(**_kwargs) -> None:
    forget_meters()
    transaction.on_commit(forget_meters)


def _customer_changed(instance: Customer, **_kwargs) -> None:
    def forget() -> None:
        with _lock:
            _customers.pop(instance.pk, None)

    forget()
    transaction.on_commit(forget)


post_save.connect(_meter_changed, sender=Meter, dispatch_uid="metering.lookups.m1")
post_delete.connect(_meter_changed, sender=Meter, dispatch_uid="metering.lookups.m2")
post_save.connect(
    _customer_changed, sender=Customer, dispatch_uid="metering.lookups.c1"
)
post_delete.connect(
    _customer_changed, sender=Customer, dispatch_uid="metering.lookups.c2"
)
post_migrate.connect(forget_everything, dispatch_uid="metering.lookups.flush")
