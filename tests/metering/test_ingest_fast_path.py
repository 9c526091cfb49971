"""The fast loop for plain batches makes exactly the rows ``validate`` makes.

``plain_rows`` either gives up on a batch (None) or must agree, event by event,
with the general validation; hypothesis mixes plain events with every kind of
irregular one.
"""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note
from hypothesis import strategies as st

from core.errors import InvalidRequest
from metering.models import Meter
from metering.services import EventInput
from metering.services.validation import Lookups, plain_rows, validate
from tests.metering.factories import CustomerFactory, MeterFactory, TestClockFactory

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
CLOCK_TIME = NOW - timedelta(days=3)


def sometimes(plain, irregular):
    """Mostly a plain choice, one time in ten an irregular one."""
    return st.integers(0, 9).flatmap(
        lambda roll: st.sampled_from(irregular if roll == 0 else plain)
    )


values = sometimes(
    ["12", "0012", "9" * 15], ["-3", "+4", "1.5", "9" * 16, "٣", "", " 5", 12, None]
)
identifiers = sometimes(["id-1", "id-2", "x" * 100], [None, "", "x" * 101, 5])
timestamps = sometimes(
    [None, NOW - timedelta(hours=1), NOW - timedelta(days=35), CLOCK_TIME],
    [
        NOW - timedelta(days=35, seconds=1),
        NOW + timedelta(minutes=5),
        NOW + timedelta(minutes=5, microseconds=1),
        (NOW - timedelta(hours=1)).astimezone(timezone(timedelta(hours=2))),
        CLOCK_TIME - timedelta(days=40),
    ],
)


@st.composite
def events(draw):
    customer = draw(sometimes(["plain", "clock"], ["cus_unknown", 7, None]))
    payload = {}
    if customer is not None:
        payload["stripe_customer_id"] = customer
    value = draw(values)
    if value is not None:
        payload["value"] = value
    extra = draw(sometimes([None], ["m1", 3, ["list"]]))
    if extra is not None:
        payload["model"] = extra
    payload = draw(sometimes([payload], ["text", None, ["x"]]))
    return EventInput(
        draw(sometimes(["tokens"], ["retired", "nothing", 5])),
        payload,
        draw(identifiers),
        draw(timestamps),
    )


def _resolve(event, customers):
    payload = event.payload
    if isinstance(payload, dict) and payload.get("stripe_customer_id") in customers:
        payload = {
            **payload,
            "stripe_customer_id": customers[payload["stripe_customer_id"]],
        }
    return event._replace(payload=payload)


@pytest.mark.django_db
@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(events(), min_size=1, max_size=6), livemode=st.booleans())
def test_the_fast_loop_agrees_with_validation(batch, livemode):
    with transaction.atomic():
        MeterFactory(event_name="tokens")
        MeterFactory(event_name="retired", status=Meter.Status.INACTIVE)
        customers = {
            "plain": CustomerFactory().pk,
            "clock": CustomerFactory(
                test_clock=TestClockFactory(frozen_time=CLOCK_TIME)
            ).pk,
        }
        batch = [_resolve(event, customers) for event in batch]
        lookups = Lookups(batch, NOW)
        fast = plain_rows(batch, lookups, livemode)
        note("fast loop" if fast is not None else "general validation")
        if fast is not None:
            assert fast == [validate(event, lookups, livemode) for event in batch]
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_the_fast_loop_takes_plain_batches():
    MeterFactory(event_name="tokens")
    customer = CustomerFactory()
    batch = [
        EventInput(
            "tokens",
            {"stripe_customer_id": customer.pk, "value": "42"},
            f"id-{index}",
            None if index else NOW - timedelta(minutes=3),
        )
        for index in range(3)
    ]
    lookups = Lookups(batch, NOW)
    rows = plain_rows(batch, lookups, False)
    assert rows == [validate(event, lookups, False) for event in batch]
    with pytest.raises(InvalidRequest):
        validate(batch[0]._replace(payload={}), lookups, False)
