"""Lists: envelope, limit bounds, cursors in both directions, ties on ``created``."""

from datetime import UTC, datetime, timedelta

import pytest

from core.models import Customer
from tests.helpers import error_of

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def customers(db):
    """Twelve customers; pairs share a ``created`` second to exercise tie-breaking."""
    rows = []
    for index in range(12):
        rows.append(
            Customer.objects.create(
                name=f"c{index}",
                invoice_prefix=f"PFX{index:03d}",
                created=T0 + timedelta(seconds=index // 2),
            )
        )
    return rows


def ids(response):
    return [item["id"] for item in response.json()["data"]]


def newest_first(rows):
    return [c.id for c in sorted(rows, key=lambda c: (c.created, c.id), reverse=True)]


def test_envelope_and_default_limit(api, customers):
    body = api.get("/v1/customers").json()
    assert body["object"] == "list"
    assert body["url"] == "/v1/customers"
    assert body["has_more"] is True
    assert len(body["data"]) == 10
    assert ids(api.get("/v1/customers")) == newest_first(customers)[:10]


@pytest.mark.parametrize("limit", [0, 101, -1, "ten"])
def test_limit_out_of_range(api, customers, limit):
    error = error_of(api.get("/v1/customers", {"limit": limit}))
    assert error["param"] == "limit"


def test_walk_forward_and_back_visits_everything_once(api, customers):
    expected = newest_first(customers)
    seen, cursor = [], None
    while True:
        params = {"limit": 5} | ({"starting_after": cursor} if cursor else {})
        body = api.get("/v1/customers", params).json()
        seen += [item["id"] for item in body["data"]]
        if not body["has_more"]:
            break
        cursor = body["data"][-1]["id"]
    assert seen == expected

    back, cursor = [], expected[-1]
    while True:
        body = api.get("/v1/customers", {"limit": 4, "ending_before": cursor}).json()
        back = [item["id"] for item in body["data"]] + back
        if not body["has_more"]:
            break
        cursor = body["data"][0]["id"]
    assert back == expected[:-1]


def test_limit_one_on_ties(api, customers):
    expected = newest_first(customers)
    first = api.get("/v1/customers", {"limit": 1}).json()
    second = api.get(
        "/v1/customers", {"limit": 1, "starting_after": first["data"][0]["id"]}
    )
    assert [first["data"][0]["id"], *ids(second)] == expected[:2]


def test_last_page_has_no_more(api, customers):
    expected = newest_first(customers)
    body = api.get("/v1/customers", {"limit": 3, "starting_after": expected[-4]}).json()
    assert [item["id"] for item in body["data"]] == expected[-3:]
    assert body["has_more"] is False


def test_unknown_cursor(api, customers):
    response = api.get("/v1/customers", {"starting_after": "cus_missing"})
    assert response.status_code == 404
    assert error_of(response)["param"] == "starting_after"


def test_both_cursors_refused(api, customers):
    response = api.get(
        "/v1/customers",
        {"starting_after": customers[0].id, "ending_before": customers[1].id},
    )
    assert error_of(response)["code"] == "parameters_exclusive"


@pytest.mark.parametrize(
    ("bounds", "count"),
    [
        ({"gte": int((T0 + timedelta(seconds=3)).timestamp())}, 6),
        ({"gt": int((T0 + timedelta(seconds=3)).timestamp())}, 4),
        ({"lt": int((T0 + timedelta(seconds=1)).timestamp())}, 2),
        ({"lte": int((T0 + timedelta(seconds=1)).timestamp())}, 4),
        (int((T0 + timedelta(seconds=2)).timestamp()), 2),
    ],
)
def test_created_filters(api, customers, bounds, count):
    response = api.get("/v1/customers", {"created": bounds, "limit": 100})
    assert response.status_code == 200
    assert len(response.json()["data"]) == count


def test_created_filter_rejects_unknown_operator(api, customers):
    response = api.get("/v1/customers", {"created": {"after": 1}})
    assert error_of(response)["code"] == "parameter_unknown"


def test_expand_in_lists_needs_data_prefix(api, customers):
    error = error_of(api.get("/v1/customers", {"expand": ["test_clock"]}))
    assert error["param"] == "expand"
    assert api.get("/v1/customers", {"expand": ["data.test_clock"]}).status_code == 200
