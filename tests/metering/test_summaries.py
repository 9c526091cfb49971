"""GET /v1/billing/meters/{id}/event_summaries: bounds, grouping, pagination."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from metering import services
from tests.helpers import error_of
from tests.metering.factories import CustomerFactory, MeterFactory

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
DAY0 = datetime(2026, 4, 28, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def setup(db):
    meter = MeterFactory(event_name="tokens")
    customer = CustomerFactory()
    for at, value in [
        (DAY0 + timedelta(hours=1, minutes=59, seconds=59), 1),
        (DAY0 + timedelta(hours=2), 10),
        (DAY0 + timedelta(days=1, hours=23, minutes=30), 100),
        (DAY0 + timedelta(days=2), 1000),
    ]:
        services.meter_event_create(
            event_name="tokens",
            payload={"stripe_customer_id": customer.id, "value": str(value)},
            timestamp=at,
            now=NOW,
        )
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


def values(body):
    return [
        (s["start_time"], s["end_time"], s["aggregated_value"]) for s in body["data"]
    ]


def ts(moment):
    return int(moment.timestamp())


def test_one_summary_for_the_whole_range(api, setup):
    meter, customer = setup
    body = summaries(api, meter, customer, DAY0, DAY0 + timedelta(days=2)).json()
    assert body["object"] == "list"
    assert body["url"] == f"/v1/billing/meters/{meter.id}/event_summaries"
    assert body["has_more"] is False
    (summary,) = body["data"]
    assert summary["id"].startswith("mtrusg_")
    assert summary == {
        "id": summary["id"],
        "object": "billing.meter_event_summary",
        "aggregated_value": 111,
        "end_time": ts(DAY0 + timedelta(days=2)),
        "livemode": False,
        "meter": meter.id,
        "start_time": ts(DAY0),
    }


def test_minute_bounds_are_half_open(api, setup):
    meter, customer = setup
    start = DAY0 + timedelta(hours=1, minutes=59)
    body = summaries(api, meter, customer, start, start + timedelta(minutes=1)).json()
    assert values(body) == [(ts(start), ts(start + timedelta(minutes=1)), 1)]
    end = DAY0 + timedelta(hours=2, minutes=1)
    body = summaries(api, meter, customer, start, end).json()
    assert values(body)[0][2] == 11


def test_grouped_by_hour_newest_first(api, setup):
    meter, customer = setup
    start, end = DAY0 + timedelta(hours=1), DAY0 + timedelta(hours=4)
    body = summaries(
        api, meter, customer, start, end, value_grouping_window="hour"
    ).json()
    hour = timedelta(hours=1)
    assert values(body) == [
        (ts(start + 2 * hour), ts(end), 0),
        (ts(start + hour), ts(start + 2 * hour), 10),
        (ts(start), ts(start + hour), 1),
    ]


def test_grouped_by_day(api, setup):
    meter, customer = setup
    end = DAY0 + timedelta(days=3)
    body = summaries(
        api, meter, customer, DAY0, end, value_grouping_window="day"
    ).json()
    day = timedelta(days=1)
    assert values(body) == [
        (ts(DAY0 + 2 * day), ts(end), 1000),
        (ts(DAY0 + day), ts(DAY0 + 2 * day), 100),
        (ts(DAY0), ts(DAY0 + day), 11),
    ]


def test_pagination(api, setup):
    meter, customer = setup
    start, end = DAY0, DAY0 + timedelta(days=3)
    params = {"value_grouping_window": "hour", "limit": 30}
    first = summaries(api, meter, customer, start, end, **params).json()
    assert len(first["data"]) == 30
    assert first["has_more"] is True
    second = summaries(
        api,
        meter,
        customer,
        start,
        end,
        starting_after=first["data"][-1]["id"],
        **params,
    ).json()
    assert second["data"][0]["start_time"] == first["data"][-1]["start_time"] - 3600
    back = summaries(
        api,
        meter,
        customer,
        start,
        end,
        ending_before=second["data"][0]["id"],
        **params,
    ).json()
    assert back["data"] == first["data"]
    everything, cursor = [], None
    while True:
        page = summaries(
            api,
            meter,
            customer,
            start,
            end,
            limit=100,
            value_grouping_window="hour",
            **({"starting_after": cursor} if cursor else {}),
        ).json()
        everything += page["data"]
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]
    assert len(everything) == 72
    assert sum(s["aggregated_value"] for s in everything) == 1111


def test_a_page_renders_only_its_summaries(api, setup, monkeypatch):
    """72 hours in pages of 10: ids are digested for the page and the cursor's
    search, not for every summary of the range."""
    from metering.api import serializers

    meter, customer = setup
    digested = []
    original = serializers.summary_id
    monkeypatch.setattr(
        serializers,
        "summary_id",
        lambda summary: digested.append(summary) or original(summary),
    )
    start, end = DAY0, DAY0 + timedelta(days=3)
    first = summaries(api, meter, customer, start, end, value_grouping_window="hour")
    assert len(first.json()["data"]) == 10
    assert len(digested) == 10
    digested.clear()
    cursor = first.json()["data"][-1]["id"]
    second = summaries(
        api,
        meter,
        customer,
        start,
        end,
        value_grouping_window="hour",
        starting_after=cursor,
    ).json()
    # The cursor is the 10th summary: found after 10 digests, then a page of 10.
    assert len(digested) == 20
    assert (
        second["data"][0]["start_time"] == first.json()["data"][-1]["start_time"] - 3600
    )


@pytest.mark.parametrize(
    ("start", "end", "extra", "param"),
    [
        (DAY0 + timedelta(seconds=30), DAY0 + timedelta(hours=1), {}, "start_time"),
        (DAY0, DAY0 + timedelta(minutes=10, seconds=1), {}, "end_time"),
        (DAY0, DAY0, {}, "end_time"),
        (DAY0 + timedelta(hours=1), DAY0, {}, "end_time"),
        (
            DAY0 + timedelta(minutes=30),
            DAY0 + timedelta(hours=2),
            {"value_grouping_window": "hour"},
            "start_time",
        ),
        (
            DAY0 + timedelta(hours=1),
            DAY0 + timedelta(days=2),
            {"value_grouping_window": "day"},
            "start_time",
        ),
        (
            DAY0,
            DAY0 + timedelta(days=1, hours=1),
            {"value_grouping_window": "day"},
            "end_time",
        ),
        (
            DAY0,
            DAY0 + timedelta(days=1),
            {"value_grouping_window": "week"},
            "value_grouping_window",
        ),
    ],
)
def test_bounds_validation(api, setup, start, end, extra, param):
    meter, customer = setup
    error = error_of(summaries(api, meter, customer, start, end, **extra))
    assert error["param"] == param


def test_required_params_and_unknown_ids(api, setup):
    meter, customer = setup
    url = f"/v1/billing/meters/{meter.id}/event_summaries"
    error = error_of(api.get(url, {"customer": customer.id, "end_time": ts(DAY0)}))
    assert (error["param"], error["code"]) == ("start_time", "parameter_missing")
    response = api.get(
        url, {"customer": "cus_nobody", "start_time": ts(DAY0), "end_time": ts(NOW)}
    )
    assert response.status_code == 404
    assert error_of(response)["param"] == "customer"
    response = api.get(
        "/v1/billing/meters/mtr_nope/event_summaries",
        {"customer": customer.id, "start_time": ts(DAY0), "end_time": ts(NOW)},
    )
    assert response.status_code == 404
    bad_cursor = error_of(
        summaries(api, meter, customer, DAY0, NOW, starting_after="mtrusg_unknown")
    )
    assert bad_cursor["param"] == "starting_after"
