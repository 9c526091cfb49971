"""Demo usage of the Hypernian example (seeds 001 and 003); idempotent.

Makes sure the three token meters exist (the catalog demo may already have made
them for its prices), then records a few days of token usage for the demo customers
from ``core/demo.py``: input and output tokens for Jenny Rosen (credit-based plan),
API tokens for Northwind (Hypernian Pro). Events have fixed identifiers, so a second
run records nothing.
"""

from __future__ import annotations

import random
from datetime import timedelta

from core import clock
from core.models import Customer
from metering.models import Meter, MeterEvent
from metering.services import EventInput, meter_create, meter_events_ingest_batch

METERS = {
    "hypernian_api_tokens": "Hypernian API tokens",
    "hypernian_input_tokens": "Hypernian input tokens",
    "hypernian_output_tokens": "Hypernian output tokens",
}
USAGE = {
    "jenny.rosen@example.com": {
        "hypernian_input_tokens": (20, 400),
        "hypernian_output_tokens": (10, 250),
    },
    "billing@northwind.example": {"hypernian_api_tokens": (500, 4_000)},
}
DAYS = 5
EVENTS_PER_DAY = 12


def _meters(stdout, now) -> None:
    for event_name, display_name in METERS.items():
        if not Meter.objects.filter(event_name=event_name, status="active").exists():
            meter_create(
                display_name=display_name, event_name=event_name, formula="sum", now=now
            )
            stdout.write(f"  meter {display_name}")


def _events(customer: Customer, event_name: str, low: int, high: int, now):
    rng = random.Random(f"{customer.email}:{event_name}")
    start = now - timedelta(days=DAYS)
    step = timedelta(days=DAYS) / (DAYS * EVENTS_PER_DAY)
    return [
        EventInput(
            event_name=event_name,
            payload={
                "stripe_customer_id": customer.pk,
                "value": str(rng.randint(low, high)),
            },
            identifier=f"demo-{customer.pk}-{event_name}-{index}",
            timestamp=start + step * index + timedelta(minutes=rng.randint(0, 50)),
        )
        for index in range(DAYS * EVENTS_PER_DAY)
    ]


def load(*, stdout) -> None:
    now = clock.now()
    _meters(stdout, now)
    for email, meters in USAGE.items():
        customer = Customer.objects.filter(email=email, deleted=False).first()
        if customer is None:
            continue
        if MeterEvent.objects.filter(
            customer=customer, identifier__startswith="demo-"
        ).exists():
            continue  # loaded before
        events = [
            event
            for event_name, (low, high) in meters.items()
            for event in _events(customer, event_name, low, high, now)
        ]
        result = meter_events_ingest_batch(events=events, now=now)
        stdout.write(f"  {result.accepted} usage events for {customer}")
