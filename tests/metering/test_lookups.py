"""``metering.lookups``: meters and customers remembered a while, never stale here.

Reads are counted by wrapping the two read functions. Tests that need rows read
outside a transaction (the only ones remembered) commit: ``transaction=True``.
"""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction

from core.services.customers import customer_delete
from metering import lookups, services
from tests.metering.factories import CustomerFactory, MeterFactory, TestClockFactory

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def reads(monkeypatch):
    """How many times meters and customers were read from the database."""
    counts = {"meters": 0, "customers": 0}
    for name, key in (("_read_meters", "meters"), ("_read_customers", "customers")):
        real = getattr(lookups, name)

        def counted(ids, real=real, key=key):
            counts[key] += 1
            return real(ids)

        monkeypatch.setattr(lookups, name, counted)
    lookups.forget_everything()
    yield counts
    lookups.forget_everything()


def event(customer, event_name="tokens", value="3"):
    return services.EventInput(
        event_name, {"stripe_customer_id": customer.pk, "value": value}
    )


def ingest(*events):
    return services.meter_events_ingest_batch(events=list(events), now=NOW)


@pytest.mark.django_db(transaction=True)
def test_reads_are_remembered_for_a_while(reads, monkeypatch):
    MeterFactory(event_name="tokens")
    customer = CustomerFactory()
    ingest(event(customer))
    ingest(event(customer), event(customer))
    assert reads == {"meters": 1, "customers": 1}
    clock = [1000.0]
    monkeypatch.setattr(lookups.time, "monotonic", lambda: clock[0])
    lookups.forget_everything()
    ingest(event(customer))
    clock[0] += lookups.METER_SECONDS + 0.1
    ingest(event(customer))
    assert reads == {"meters": 3, "customers": 2}
    clock[0] += lookups.CUSTOMER_SECONDS
    ingest(event(customer))
    assert reads == {"meters": 4, "customers": 3}


@pytest.mark.django_db(transaction=True)
def test_a_meter_changed_here_is_seen_at_once(reads):
    meter = MeterFactory(event_name="tokens")
    customer = CustomerFactory()
    assert ingest(event(customer)).accepted == 1
    services.meter_deactivate(meter=meter, now=NOW)
    result = ingest(event(customer))
    assert [error.code for _, error in result.errors] == ["archived_meter"]
    replacement = services.meter_create(
        display_name="Tokens v2", event_name="tokens", formula="sum", now=NOW
    )
    result = ingest(event(customer))
    assert result.accepted == 1
    assert result.rows[0].meter_id == replacement.pk


@pytest.mark.django_db(transaction=True)
def test_a_customer_deleted_here_is_seen_at_once(reads):
    MeterFactory(event_name="tokens")
    customer = CustomerFactory()
    assert ingest(event(customer)).accepted == 1
    customer_delete(customer=customer)
    result = ingest(event(customer))
    assert [error.code for _, error in result.errors] == [
        "meter_event_customer_not_found"
    ]


@pytest.mark.django_db(transaction=True)
def test_unknown_names_customers_and_clock_customers_are_not_remembered(reads):
    MeterFactory(event_name="tokens")
    on_clock = CustomerFactory(test_clock=TestClockFactory(frozen_time=NOW))
    for _ in range(2):
        ingest(event(on_clock), event(on_clock, event_name="nothing"))
        ingest(services.EventInput("tokens", {"stripe_customer_id": "cus_nobody"}))
    # Meters by name are remembered; the clock's time and unknown ids are not.
    assert reads == {"meters": 2, "customers": 4}


@pytest.mark.django_db
def test_nothing_read_inside_a_transaction_is_remembered(reads):
    MeterFactory(event_name="tokens")
    customer = CustomerFactory()
    with transaction.atomic():
        ingest(event(customer))
    ingest(event(customer))
    assert reads == {"meters": 2, "customers": 2}


@pytest.mark.django_db(transaction=True)
def test_a_row_read_while_a_change_commits_is_forgotten_at_commit(reads):
    meter = MeterFactory(event_name="tokens")
    customer = CustomerFactory()

    def concurrent_reader():
        try:
            lookups.meters_by_event_name(
                ["tokens"], livemode=False
            )  # the row before the commit
        finally:
            connection.close()

    with transaction.atomic():
        services.meter_deactivate(meter=meter, now=NOW)
        reader = threading.Thread(target=concurrent_reader)
        reader.start()
        reader.join()
        assert (
            lookups.meters_by_event_name(["tokens"], livemode=False)[0].is_active
            is False
        )
    result = ingest(event(customer))
    assert [error.code for _, error in result.errors] == ["archived_meter"]
