"""What a batch of meter events reads once: the limits, the event as sent, its meters
and its customers' clocks (``Lookups``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from metering import lookups as lookups_cache
from metering.dimensions import dimension_set_id
from metering.models import Meter

MAX_PAST = timedelta(days=35)
MAX_FUTURE = timedelta(minutes=5)
MAX_IDENTIFIER = 100
MAX_EVENT_NAME = 100
MAX_SIGNIFICANT_DIGITS = 15
MAX_DIGITS = 30


class EventInput(NamedTuple):
    """A meter event as a client sent it; ``timestamp`` already parsed at the edge.

    A named tuple rather than a dataclass: bulk import makes 100,000 a second.
    """

    event_name: Any
    payload: Any
    identifier: Any = None
    timestamp: datetime | None = None


class Lookups:
    """Meters by event name and customers' clocks, read once per batch.

    The meters come first: which payload key names the customer depends on the
    meter. Both reads are usually answered from memory (``metering.lookups``).
    """

    def __init__(
        self, events: Sequence[EventInput], now: datetime, *, livemode: bool
    ) -> None:
        self.livemode = livemode
        self.set_ids: dict[tuple[str, tuple[str, ...]], int] = {}
        self._load(events, now)

    def dimension_set(self, meter_id: str, values: tuple[str, ...]) -> int:
        """The id of a meter's dimension values, noted for ``new_sets``."""
        key = (meter_id, values)
        found = self.set_ids.get(key)
        if found is None:
            found = self.set_ids[key] = dimension_set_id(meter_id, values)
        return found

    @property
    def new_sets(self) -> dict[int, tuple[str, dict[str, str]]]:
        """The dimension sets this batch named: ``{id: (meter id, {key: value})}``."""
        return {
            set_id: (meter_id, dict(zip(self.keys_of[meter_id], values, strict=True)))
            for (meter_id, values), set_id in self.set_ids.items()
        }

    @classmethod
    def of_documents(
        cls, documents: Sequence[Any], now: datetime, *, livemode: bool
    ) -> Lookups:
        """The lookups of events as JSON documents (``plain_document_rows``).

        Customers are read under every active meter's key at once: an extra
        candidate costs nothing, and one pass over the documents saves a lot.
        """
        lookups = cls.__new__(cls)
        lookups.livemode = livemode
        lookups.set_ids = {}
        objects = [document for document in documents if type(document) is dict]
        lookups._index(
            lookups_cache.meters_by_event_name(
                {
                    name
                    for document in objects
                    if type(name := document.get("event_name")) is str
                },
                livemode=livemode,
            )
        )
        keys = {meter.customer_payload_key for meter in lookups.active.values()}
        payloads = [
            payload
            for document in objects
            if type(payload := document.get("payload")) is dict
        ]
        lookups._read_clocks(
            {
                customer_id
                for key in keys
                for payload in payloads
                if type(customer_id := payload.get(key)) is str
            },
            now,
        )
        return lookups

    def _load(self, events: Sequence[EventInput], now: datetime) -> None:
        names = {event.event_name for event in events if type(event.event_name) is str}
        self._index(lookups_cache.meters_by_event_name(names, livemode=self.livemode))
        self._read_clocks(self._customer_ids(events), now)

    def _read_clocks(self, wanted: set[str], now: datetime) -> None:
        clocks = (
            lookups_cache.customer_clocks(wanted, livemode=self.livemode)
            if wanted
            else {}
        )
        # A customer on a test clock lives at the clock's frozen time.
        self.customer_now: dict[str, datetime] = {
            customer_id: frozen_time or now
            for customer_id, frozen_time in clocks.items()
        }
        # Each customer's "now" and the timestamps it accepts, [earliest, latest].
        windows = {
            moment: (moment, moment - MAX_PAST, moment + MAX_FUTURE)
            for moment in set(self.customer_now.values())
        }
        self.windows: dict[str, tuple[datetime, datetime, datetime]] = {
            customer_id: windows[moment]
            for customer_id, moment in self.customer_now.items()
        }

    def _customer_ids(self, events: Sequence[EventInput]) -> set[str]:
        """The ids the events name as their customer, under their meter's key."""
        if len(self.active) == 1:
            # The usual batch: one meter, so one customer key (read a bit widely:
            # events of unknown names add candidates, which is harmless).
            key = next(iter(self.active.values())).customer_payload_key
            return {
                customer_id
                for event in events
                if type(event.payload) is dict
                and type(customer_id := event.payload.get(key)) is str
            }
        found = set()
        for event in events:
            name = event.event_name
            meter = self.active.get(name) if type(name) is str else None
            if meter is not None and type(event.payload) is dict:
                customer_id = event.payload.get(meter.customer_payload_key)
                if type(customer_id) is str:
                    found.add(customer_id)
        return found

    def _index(self, meters: list[Meter]) -> None:
        self.meters: dict[str, list[Meter]] = {}
        self.active: dict[str, Meter] = {}
        self.keys_of = {meter.id: meter.dimension_keys for meter in meters}
        for meter in meters:
            self.meters.setdefault(meter.event_name, []).append(meter)
            if meter.is_active:
                self.active[meter.event_name] = meter
