"""Event summaries grouped and filtered by dimension (Stripe's
``dimension_group_by_keys`` / ``dimension_filters``): shapes, 400s, and grouped
figures that add up to the ungrouped one (hypothesis): sums, counts and
value-hours add up, the largest group's peak is the whole's, distinct values are
counted in each group they appear in."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metering import selectors, services
from tests.helpers import error_of
from tests.metering.factories import CustomerFactory

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
DAY = datetime(2026, 5, 18, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def make_meter(formula="sum"):
    return services.meter_create(
        display_name="Tokens",
        event_name="tokens",
        formula=formula,
        dimension_payload_keys=["model", "region"],
        now=NOW,
        livemode=False,
    )


def send(customer, value, at, **dimensions):
    services.meter_event_create(
        event_name="tokens",
        payload={"stripe_customer_id": customer.id, "value": str(value), **dimensions},
        timestamp=at,
        now=NOW,
    )


@pytest.fixture
def setup(db):
    meter = make_meter()
    customer = CustomerFactory()
    send(customer, 100, DAY + H, model="large", region="eu")
    send(customer, 20, DAY + 2 * H, model="large", region="us")
    send(customer, 3, DAY + 2 * H + 30 * timedelta(minutes=1), model="small")
    send(customer, 1, DAY + 26 * H)
    return meter, customer


def summaries(api, meter, customer, start, end, **extra):
    return api.get(
        f"/v1/billing/meters/{meter.id}/event_summaries",
        {
            "customer": customer.id,
            "start_time": int(start.timestamp()),
            "end_time": int(end.timestamp()),
            **extra,
        },
    )


def test_group_by_model(api, setup):
    meter, customer = setup
    body = summaries(
        api,
        meter,
        customer,
        DAY,
        DAY + 48 * H,
        dimension_group_by_keys=["model"],
    ).json()
    assert [(s["dimensions"], s["aggregated_value"]) for s in body["data"]] == [
        ({"model": ""}, 1),
        ({"model": "large"}, 120),
        ({"model": "small"}, 3),
    ]
    assert all(s["object"] == "billing.meter_event_summary" for s in body["data"])
    assert len({s["id"] for s in body["data"]}) == 3


def test_group_by_and_filter_per_day(api, setup):
    meter, customer = setup
    body = summaries(
        api,
        meter,
        customer,
        DAY,
        DAY + 48 * H,
        value_grouping_window="day",
        dimension_group_by_keys=["region"],
        dimension_filters={"model": "large"},
    ).json()
    rows = [
        (s["start_time"], s["dimensions"], s["aggregated_value"]) for s in body["data"]
    ]
    day1, day2 = int(DAY.timestamp()), int((DAY + 24 * H).timestamp())
    assert rows == [
        (day2, {"model": "large", "region": "eu"}, 0),
        (day2, {"model": "large", "region": "us"}, 0),
        (day1, {"model": "large", "region": "eu"}, 100),
        (day1, {"model": "large", "region": "us"}, 20),
    ]


def test_grouping_names_the_sets_read_from_memory(setup, django_assert_num_queries):
    """Grouped without a filter, a read names only the sets it found usage in,
    their values remembered: one query (the rollups) once they are known, and a
    set whose values are not in memory is read once."""
    from metering import dimensions

    meter, customer = setup

    def grouped():
        return selectors.meter_event_summaries(
            meter=meter,
            customer_id=customer.id,
            start=DAY,
            end=DAY + 48 * H,
            grouping_window=None,
            group_by=["model"],
        )

    dimensions._values.clear()
    with django_assert_num_queries(2):
        first = grouped()
    with django_assert_num_queries(1):
        again = grouped()
    assert again == first
    assert [(row.dimensions, row.value) for row in first] == [
        ({"model": ""}, 1),
        ({"model": "large"}, 120),
        ({"model": "small"}, 3),
    ]


def test_ungrouped_summary_has_no_dimensions(api, setup):
    meter, customer = setup
    body = summaries(api, meter, customer, DAY, DAY + 48 * H).json()
    assert "dimensions" not in body["data"][0]
    assert body["data"][0]["aggregated_value"] == 124


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"dimension_group_by_keys": ["colour"]}, "dimension_group_by_keys[colour]"),
        ({"dimension_filters": {"colour": "red"}}, "dimension_filters[colour]"),
    ],
)
def test_unknown_dimension_is_400(api, setup, extra, param):
    meter, customer = setup
    response = summaries(api, meter, customer, DAY, DAY + 48 * H, **extra)
    assert response.status_code == 400
    assert error_of(response)["param"] == param


MODELS = st.sampled_from(["large", "small", None])
REGIONS = st.sampled_from(["eu", "us", None])
EVENTS = st.lists(
    st.tuples(
        st.integers(-50, 1000),  # value (negative corrections too)
        st.integers(0, 47 * 60),  # minutes after DAY
        MODELS,
        REGIONS,
    ),
    max_size=25,
)


def window_start(window: str | None, start_minute: int):
    """A summary's start on the second day: any minute, whole hours for an
    hourly window, the day itself for a daily one."""
    start = DAY + timedelta(minutes=start_minute)
    if window == "hour":
        return start.replace(minute=0)
    if window == "day":
        return DAY
    return start


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    events=EVENTS,
    formula=st.sampled_from(["sum", "count"]),
    keys=st.sampled_from([["model"], ["region"], ["model", "region"]]),
    window=st.sampled_from([None, "hour", "day"]),
    start_minute=st.integers(0, 24 * 60),
)
def test_grouped_totals_add_up_to_the_ungrouped_figure(
    events, formula, keys, window, start_minute
):
    start = window_start(window, start_minute)
    end = DAY + 48 * H
    with transaction.atomic():
        meter = make_meter(formula)
        customer = CustomerFactory()
        for value, minute, model, region in events:
            dimensions = {"model": model, "region": region}
            send(
                customer,
                value,
                DAY + timedelta(minutes=minute),
                **{k: v for k, v in dimensions.items() if v is not None},
            )
        plain = selectors.meter_event_summaries(
            meter=meter,
            customer_id=customer.id,
            start=start,
            end=end,
            grouping_window=window,
        )
        grouped = selectors.meter_event_summaries(
            meter=meter,
            customer_id=customer.id,
            start=start,
            end=end,
            grouping_window=window,
            group_by=keys,
        )
        for summary in plain:
            parts = [g.value for g in grouped if g.start == summary.start]
            assert sum(parts) == summary.value
        transaction.set_rollback(True)


def _group_invariant(formula, parts, whole):
    """How a formula's groups relate to the ungrouped figure of one bucket."""
    if formula == "max":
        # Groups without events in the bucket show 0, as the whole does.
        assert max(parts, default=0) == whole
    elif formula == "unique_count":
        # A value seen in two groups counts in each: at least the whole, and no
        # group more than the whole.
        assert sum(parts) >= whole
        assert max(parts, default=0) <= whole
    else:
        assert sum(parts) == whole


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    events=EVENTS,
    formula=st.sampled_from(["max", "time_weighted_sum", "unique_count"]),
    keys=st.sampled_from([["model"], ["region"], ["model", "region"]]),
    window=st.sampled_from([None, "hour", "day"]),
    start_minute=st.integers(0, 24 * 60),
)
def test_grouped_new_formulas_meet_the_whole(
    events, formula, keys, window, start_minute
):
    start = window_start(window, start_minute)
    end = DAY + 48 * H
    with transaction.atomic():
        extra = {"unique_payload_key": "region"} if formula == "unique_count" else {}
        meter = services.meter_create(
            display_name="Gauge",
            event_name="tokens",
            formula=formula,
            dimension_payload_keys=["model", "region"],
            now=NOW,
            livemode=False,
            **extra,
        )
        customer = CustomerFactory()
        for value, minute, model, region in events:
            dimensions = {"model": model, "region": region}
            send(
                customer,
                abs(value),  # gauges and peaks: readings of zero or more
                DAY + timedelta(minutes=minute),
                **{k: v for k, v in dimensions.items() if v is not None},
            )
        read = {
            "meter": meter,
            "customer_id": customer.id,
            "start": start,
            "end": end,
            "grouping_window": window,
        }
        plain = selectors.meter_event_summaries(**read)
        grouped = selectors.meter_event_summaries(**read, group_by=keys)
        for summary in plain:
            parts = [g.value for g in grouped if g.start == summary.start]
            _group_invariant(formula, parts, summary.value)
        transaction.set_rollback(True)
