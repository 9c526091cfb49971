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
