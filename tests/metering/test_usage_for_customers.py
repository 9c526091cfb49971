"""``meter_usage_for_customers``: one read for many customers, same answers as one."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from metering import selectors, services
from tests.metering.factories import CustomerFactory, MeterFactory

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
T0 = datetime(2026, 4, 20, 0, 0, tzinfo=UTC)


def record(meter, customer, value, at, identifier=None):
    services.meter_event_create(
        event_name=meter.event_name,
        payload={
            meter.customer_payload_key: customer.id,
            meter.value_payload_key: str(value),
        },
        identifier=identifier,
        timestamp=at,
        now=NOW,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("formula", "window"),
    [("sum", None), ("count", None), ("last", None), ("sum", "hour"), ("sum", "day")],
)
@pytest.mark.parametrize(
    ("start", "end"),
    [
        (T0, T0 + timedelta(days=2)),  # whole hours: rollups only
        (T0 + timedelta(minutes=30), T0 + timedelta(hours=30, minutes=10)),  # edges
        (T0 + timedelta(minutes=10), T0 + timedelta(minutes=50)),  # inside one hour
    ],
)
def test_same_usage_as_one_customer_at_a_time(formula, window, start, end):
    meter = MeterFactory(formula=formula, event_time_window=window)
    first, second, third, idle, other = (CustomerFactory() for _ in range(5))
    for minutes, customer, value in [
        (15, first, 3),
        (20, first, 5),
        (45, second, 7),
        (70, first, 11),
        (95, third, 13),
        (26 * 60 + 5, second, 17),
        (30 * 60 + 5, third, 19),
        (30 * 60 + 20, other, 23),
    ]:
        record(meter, customer, value, T0 + timedelta(minutes=minutes))
    record(meter, first, 100, T0 + timedelta(minutes=40), identifier="gone")
    services.meter_event_cancel(event_name=meter.event_name, identifier="gone", now=NOW)
    wanted = [first, second, third, idle]

    found = selectors.meter_usage_for_customers(
        meter=meter,
        customer_ids=[customer.id for customer in wanted],
        start=start,
        end=end,
    )

    assert other.id not in found
    assert idle.id not in found
    for customer in wanted:
        one = selectors.meter_usage_for_period(
            meter=meter, customer_id=customer.id, start=start, end=end
        )
        assert found.get(customer.id, Decimal(0)) == one, customer


@pytest.mark.django_db
def test_no_customers_reads_nothing(django_assert_num_queries):
    meter = MeterFactory()
    with django_assert_num_queries(0):
        assert (
            selectors.meter_usage_for_customers(
                meter=meter, customer_ids=[], start=T0, end=NOW
            )
            == {}
        )


@pytest.mark.django_db
def test_many_periods_of_one_customer_in_one_read(django_assert_max_num_queries):
    meters = [
        MeterFactory(formula="sum"),
        MeterFactory(formula="count"),
        MeterFactory(formula="last"),
        MeterFactory(formula="sum", event_time_window="hour"),
    ]
    customer, other = CustomerFactory(), CustomerFactory()
    for meter in meters:
        for minutes, value in [(15, 3), (70, 5), (26 * 60 + 5, 7), (50 * 60, 11)]:
            record(meter, customer, value, T0 + timedelta(minutes=minutes))
        record(meter, other, 100, T0 + timedelta(minutes=80))
    record(meters[0], customer, 1000, T0 + timedelta(minutes=75), identifier="gone")
    services.meter_event_cancel(
        event_name=meters[0].event_name, identifier="gone", now=NOW
    )
    day = timedelta(days=1)
    periods = [
        (T0, T0 + day),
        (T0 + day, T0 + 3 * day),
        (T0 + timedelta(minutes=30), T0 + timedelta(hours=26, minutes=10)),  # edges
        (T0 - day, T0),  # no events
        (T0 + 3 * day, T0 + 3 * day),  # empty
    ]
    reads = [(meter, start, end) for meter in meters for start, end in periods]

    plain = [(meter, start, end) for meter, start, end in reads if meter in meters[:2]]
    with django_assert_max_num_queries(1 + 2):  # the rollups, plus one edge read each
        selectors.meter_usage_for_periods(customer_id=customer.id, reads=plain)
    found = selectors.meter_usage_for_periods(customer_id=customer.id, reads=reads)

    assert found == [
        selectors.meter_usage_for_period(
            meter=meter, customer_id=customer.id, start=start, end=end
        )
        for meter, start, end in reads
    ]
    assert found[0] == 8  # 3 + 5; the cancelled 1000 does not count
