"""The fast loops for plain batches make exactly the rows ``validate`` makes.

``plain_rows`` (events) and ``plain_document_rows`` (JSON documents: bulk import's
lines, the v2 stream's items) either give up on a batch (None) or must agree, event
by event, with the general path; hypothesis mixes plain events with every kind of
irregular one.
"""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note
from hypothesis import strategies as st

from core.errors import InvalidRequest
from metering import imports
from metering.api import v2
from metering.models import Meter
from metering.services import EventInput
from metering.services.validation import (
    Lookups,
    plain_document_rows,
    plain_rows,
    validate,
)
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


EXAMPLES = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _catalog() -> dict[str, str]:
    """The meters the events name, and the customers' ids by the names they use."""
    MeterFactory(event_name="tokens")
    MeterFactory(event_name="retired", status=Meter.Status.INACTIVE)
    return {
        "plain": CustomerFactory().pk,
        "clock": CustomerFactory(
            test_clock=TestClockFactory(frozen_time=CLOCK_TIME)
        ).pk,
    }


def _resolve(event, customers):
    payload = event.payload
    if isinstance(payload, dict) and payload.get("stripe_customer_id") in customers:
        payload = {
            **payload,
            "stripe_customer_id": customers[payload["stripe_customer_id"]],
        }
    return event._replace(payload=payload)


@pytest.mark.django_db
@EXAMPLES
@given(batch=st.lists(events(), min_size=1, max_size=6), livemode=st.booleans())
def test_the_fast_loop_agrees_with_validation(batch, livemode):
    with transaction.atomic():
        customers = _catalog()
        batch = [_resolve(event, customers) for event in batch]
        lookups = Lookups(batch, NOW, livemode=False)
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
    lookups = Lookups(batch, NOW, livemode=False)
    rows = plain_rows(batch, lookups, False)
    assert rows == [validate(event, lookups, False) for event in batch]
    with pytest.raises(InvalidRequest):
        validate(batch[0]._replace(payload={}), lookups, False)


def _unix_forms(moment: datetime):
    whole = int(moment.timestamp())
    return sometimes([whole], [str(whole), moment.timestamp() + 0.5, True, "soon"])


def _rfc3339_forms(moment: datetime):
    text = moment.isoformat()
    return sometimes(
        [text.replace("+00:00", "Z"), text],
        [text.replace("T", "t"), text.replace("+00:00", ""), int(moment.timestamp())],
    )


@st.composite
def documents(draw, unix_seconds: bool):
    """An event as a JSON document: bulk import's line or a v2 stream item."""
    event = draw(events())
    document = {}
    for field in ("event_name", "payload", "identifier"):
        value = getattr(event, field)
        if value is not None or draw(st.booleans()):
            document[field] = value
    if event.timestamp is not None:
        forms = _unix_forms if unix_seconds else _rfc3339_forms
        document["timestamp"] = draw(forms(event.timestamp))
    if draw(st.integers(0, 19)) == 0:
        document["unknown"] = 1
    return document


def _reference(document: dict, unix_seconds: bool) -> EventInput:
    """What the general path reads from the document (or its refusal)."""
    if unix_seconds:
        return imports._event(document, 1, "line")
    return v2.event_input(document)


@pytest.mark.django_db
@EXAMPLES
@given(data=st.data(), unix_seconds=st.booleans(), livemode=st.booleans())
def test_the_document_loop_agrees_with_validation(data, unix_seconds, livemode):
    batch = data.draw(st.lists(documents(unix_seconds), min_size=1, max_size=6))
    with transaction.atomic():
        customers = _catalog()
        batch = [_resolve_document(document, customers) for document in batch]
        lookups = Lookups.of_documents(batch, NOW, livemode=False)
        fast = plain_document_rows(batch, lookups, livemode, unix_seconds=unix_seconds)
        note("fast loop" if fast is not None else "general validation")
        if fast is not None:
            general = Lookups(
                [_reference(document, unix_seconds) for document in batch],
                NOW,
                livemode=False,
            )
            assert fast == [
                validate(_reference(document, unix_seconds), general, livemode)
                for document in batch
            ]
        transaction.set_rollback(True)


def _resolve_document(document: dict, customers: dict) -> dict:
    payload = document.get("payload")
    if isinstance(payload, dict) and payload.get("stripe_customer_id") in customers:
        payload = {
            **payload,
            "stripe_customer_id": customers[payload["stripe_customer_id"]],
        }
        return {**document, "payload": payload}
    return document


@pytest.mark.django_db
@pytest.mark.parametrize("unix_seconds", [True, False])
def test_the_document_loop_takes_plain_documents(unix_seconds):
    MeterFactory(event_name="tokens")
    customer = CustomerFactory()
    moment = NOW - timedelta(minutes=3)
    stamp = int(moment.timestamp()) if unix_seconds else "2026-05-01T11:57:00.000Z"
    batch = [
        {
            "event_name": "tokens",
            "payload": {"stripe_customer_id": customer.pk, "value": "42"},
            "identifier": f"id-{index}",
            **({"timestamp": stamp} if index == 0 else {}),
        }
        for index in range(3)
    ]
    rows = plain_document_rows(
        batch,
        Lookups.of_documents(batch, NOW, livemode=False),
        False,
        unix_seconds=unix_seconds,
    )
    assert [row.timestamp for row in rows] == [moment, NOW, NOW]
    assert [row.identifier for row in rows] == ["id-0", "id-1", "id-2"]
