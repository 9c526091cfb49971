"""Prices API: every shape, validation with Stripe's params, updates, lists, events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Price
from core.models import Event
from tests.catalog.factories import MeterFactory
from tests.catalog.shapes import (
    INVALID_PRICES,
    PRICE_SHAPES,
    expected_fields,
    invalid_price,
    shape,
)
from tests.helpers import error_of


@pytest.mark.parametrize("name", list(PRICE_SHAPES))
def test_create_every_shape(api, meter, product, name):
    params = shape(name, meter_id=meter.pk, product_id=product["id"])
    response = api.post("/v1/prices", {**params, "expand": ["tiers"]})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["id"].startswith("price_")
    assert body["livemode"] is False
    assert isinstance(body["created"], int)
    expected = expected_fields(params)
    assert {key: body[key] for key in expected} == expected
    again = api.get(f"/v1/prices/{body['id']}", {"expand": ["tiers"]}).json()
    assert again == body


def test_tiers_only_when_expanded(api, meter, product):
    params = shape(
        "graduated with flat fee", meter_id=meter.pk, product_id=product["id"]
    )
    body = api.post("/v1/prices", params).json()
    assert "tiers" not in body
    assert "tiers" not in api.get(f"/v1/prices/{body['id']}").json()
    listed = api.get("/v1/prices", {"expand": ["data.tiers"]}).json()["data"]
    assert listed[0]["tiers"][1] == {
        "flat_amount": None,
        "flat_amount_decimal": None,
        "unit_amount": None,
        "unit_amount_decimal": "0.1",
        "up_to": None,
    }
    assert "tiers" not in api.get("/v1/prices").json()["data"][0]


def test_expand_product(api, product):
    body = api.post(
        "/v1/prices",
        {"currency": "usd", "product": product["id"], "unit_amount": 5},
    ).json()
    expanded = api.get(f"/v1/prices/{body['id']}", {"expand": ["product"]}).json()
    assert expanded["product"]["id"] == product["id"]
    assert expanded["product"]["object"] == "product"


@pytest.mark.parametrize(
    ("change", "param"),
    [pytest.param(change, param, id=name) for name, change, param in INVALID_PRICES],
)
def test_invalid_prices_name_the_param(api, product, change, param):
    response = api.post("/v1/prices", invalid_price(change, product_id=product["id"]))
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert not Price.objects.exists()


@pytest.mark.parametrize(
    ("change", "param", "code"),
    [
        ({"unit_amount": None}, "unit_amount", "parameter_missing"),
        ({"unit_amount": -1}, "unit_amount", "parameter_invalid"),
        ({"currency": "dollars"}, "currency", "parameter_invalid"),
        ({"currency": None}, "currency", "parameter_missing"),
        ({"product": None}, "product", "parameter_missing"),
        ({"product": "prod_missing"}, "product", "resource_missing"),
        ({"product_data": {"name": "Both"}}, "product_data", "parameter_invalid"),
        ({"unit_amount": 10**12}, "unit_amount", "amount_too_large"),
        ({"tiers_mode": "volume"}, "tiers_mode", "parameter_invalid"),
        ({"tiers": [{"up_to": "inf", "unit_amount": 1}]}, "tiers", "parameter_invalid"),
        ({"aggregate_usage": "sum"}, "aggregate_usage", "parameter_unknown"),
        ({"recurring": {"interval": "fortnight"}}, "recurring[interval]", None),
        (
            {"recurring": {"interval": "month", "interval_count": 37}},
            "recurring[interval_count]",
            None,
        ),
        (
            {"recurring": {"interval": "week", "interval_count": 157}},
            "recurring[interval_count]",
            None,
        ),
        (
            {"recurring": {"interval": "month", "meter": "mtr_x"}},
            "recurring[meter]",
            None,
        ),
        (
            {"recurring": {"interval": "month", "trial_period_days": 731}},
            "recurring[trial_period_days]",
            None,
        ),
        (
            {"transform_quantity": {"divide_by": 0, "round": "up"}},
            "transform_quantity[divide_by]",
            None,
        ),
        ({"transform_quantity": {"divide_by": 10}}, "transform_quantity[round]", None),
        ({"lookup_key": "k" * 201}, "lookup_key", None),
        ({"tax_behavior": "sometimes"}, "tax_behavior", None),
    ],
)
def test_more_invalid_prices(api, product, change, param, code):
    params = invalid_price(change, product_id=product["id"])
    error = error_of(api.post("/v1/prices", params))
    assert error["param"] == param
    if code:
        assert error["code"] == code
    assert not Price.objects.exists()


TIERED = {"currency": "usd", "billing_scheme": "tiered", "tiers_mode": "graduated"}


@pytest.mark.parametrize(
    ("tiers", "param"),
    [
        ([], "tiers"),
        ([{"up_to": "inf"}], "tiers[0]"),
        (
            [
                {"up_to": 10, "unit_amount": 1},
                {"up_to": 10, "unit_amount": 1},
                {"up_to": "inf", "unit_amount": 1},
            ],
            "tiers[1][up_to]",
        ),
        (
            [{"up_to": "inf", "unit_amount": 1}, {"up_to": "inf", "unit_amount": 1}],
            "tiers[0][up_to]",
        ),
        (
            [{"up_to": 0, "unit_amount": 1}, {"up_to": "inf", "unit_amount": 1}],
            "tiers[0][up_to]",
        ),
        ([{"up_to": "lots", "unit_amount": 1}], "tiers[0][up_to]"),
        ([{"unit_amount": 1}], "tiers[0][up_to]"),
        (
            [{"up_to": "inf", "unit_amount": 1, "unit_amount_decimal": "1"}],
            "tiers[0][unit_amount]",
        ),
        (
            [{"up_to": "inf", "flat_amount": 1, "flat_amount_decimal": "1"}],
            "tiers[0][flat_amount]",
        ),
        (
            [{"up_to": "inf", "unit_amount_decimal": "0.0000000000001"}],
            "tiers[0][unit_amount_decimal]",
        ),
        ([{"up_to": "inf", "flat_amount": -5}], "tiers[0][flat_amount]"),
        ([{"up_to": "inf", "unit_amount": 1, "price": 4}], "tiers[0][price]"),
    ],
)
def test_invalid_tiers(api, product, tiers, param):
    params = {**TIERED, "product": product["id"]}
    if tiers:
        params["tiers"] = tiers
    error = error_of(api.post("/v1/prices", params))
    assert error["param"] == param


def test_metered_price_needs_an_existing_active_meter(api, product):
    inactive = MeterFactory(status="inactive")
    for meter_id in ("mtr_missing", inactive.pk):
        response = api.post(
            "/v1/prices",
            {
                "currency": "usd",
                "product": product["id"],
                "unit_amount": 1,
                "recurring": {
                    "interval": "month",
                    "usage_type": "metered",
                    "meter": meter_id,
                },
            },
        )
        assert response.status_code == 400
        assert error_of(response)["param"] == "recurring[meter]"
    assert not Price.objects.exists()


def test_product_data_creates_the_product(api):
    body = api.post(
        "/v1/prices",
        {
            "currency": "USD",
            "unit_amount": 3,
            "product_data": {
                "name": "Input tokens",
                "unit_label": "token",
                "metadata": {"kind": "input"},
            },
        },
    ).json()
    assert body["currency"] == "usd"
    product = api.get(f"/v1/products/{body['product']}").json()
    assert product["name"] == "Input tokens"
    assert product["unit_label"] == "token"
    assert product["metadata"] == {"kind": "input"}
    assert product["default_price"] is None
    types = list(Event.objects.order_by("created", "id").values_list("type", flat=True))
    assert sorted(types) == ["price.created", "product.created"]


def test_json_body(api, meter, product):
    response = api.post_json(
        "/v1/prices",
        {
            "currency": "usd",
            "product": product["id"],
            "billing_scheme": "tiered",
            "tiers_mode": "volume",
            "tiers": [
                {"up_to": 5, "unit_amount": 700},
                {"up_to": "inf", "unit_amount": 600},
            ],
            "expand": ["tiers"],
        },
    )
    assert response.status_code == 200, response.json()
    assert [tier["up_to"] for tier in response.json()["tiers"]] == [5, None]


# ---- updates ---------------------------------------------------------------------


def _price(api, product, **params) -> dict:
    return api.post(
        "/v1/prices",
        {"currency": "usd", "product": product["id"], "unit_amount": 100, **params},
    ).json()


@pytest.mark.parametrize(
    "param",
    [
        {"unit_amount": 5},
        {"unit_amount_decimal": "5"},
        {"currency": "eur"},
        {"recurring": {"interval": "year"}},
        {"tiers": [{"up_to": "inf", "unit_amount": 1}]},
        {"tiers_mode": "volume"},
        {"billing_scheme": "tiered"},
        {"transform_quantity": {"divide_by": 2, "round": "up"}},
        {"product": "prod_other"},
    ],
)
def test_pricing_terms_are_immutable(api, product, param):
    price = _price(api, product)
    error = error_of(api.post(f"/v1/prices/{price['id']}", param))
    assert error["code"] == "parameter_unknown"
    assert error["param"] == next(iter(param))
    assert api.get(f"/v1/prices/{price['id']}").json() == price


def test_update_mutable_fields_records_previous_attributes(api, product):
    price = _price(api, product, nickname="Old", metadata={"a": "1", "b": "2"})
    body = api.post(
        f"/v1/prices/{price['id']}",
        {
            "nickname": "New",
            "metadata": {"a": "", "c": "3"},
            "tax_behavior": "inclusive",
            "lookup_key": "standard",
        },
    ).json()
    assert body["nickname"] == "New"
    assert body["metadata"] == {"b": "2", "c": "3"}
    assert body["tax_behavior"] == "inclusive"
    assert body["lookup_key"] == "standard"
    event = Event.objects.get(type="price.updated")
    assert event.data["previous_attributes"] == {
        "nickname": "Old",
        "metadata": {"a": "1", "b": "2"},
        "tax_behavior": "unspecified",
        "lookup_key": None,
    }
    cleared = api.post(f"/v1/prices/{price['id']}", {"nickname": "", "lookup_key": ""})
    assert cleared.json()["nickname"] is None
    assert cleared.json()["lookup_key"] is None


def test_tax_behavior_is_fixed_once_chosen(api, product):
    price = _price(api, product, tax_behavior="exclusive")
    error = error_of(
        api.post(f"/v1/prices/{price['id']}", {"tax_behavior": "inclusive"})
    )
    assert error["param"] == "tax_behavior"


def test_update_without_change_records_nothing(api, product):
    price = _price(api, product, nickname="Same")
    api.post(f"/v1/prices/{price['id']}", {"nickname": "Same"})
    assert not Event.objects.filter(type="price.updated").exists()


def test_archive_and_unarchive(api, product):
    price = _price(api, product)
    archived = api.post(f"/v1/prices/{price['id']}", {"active": "false"}).json()
    assert archived["active"] is False
    assert api.get("/v1/prices").json()["data"] == []
    assert [
        p["id"] for p in api.get("/v1/prices", {"active": "false"}).json()["data"]
    ] == [price["id"]]
    assert api.post(f"/v1/prices/{price['id']}", {"active": "true"}).json()["active"]
    event = Event.objects.filter(type="price.updated").order_by("created", "id").first()
    assert event.data["previous_attributes"] == {"active": True}


def test_default_price_cannot_be_archived(api):
    product = api.post(
        "/v1/products",
        {"name": "Pro", "default_price_data": {"currency": "usd", "unit_amount": 100}},
    ).json()
    error = error_of(
        api.post(f"/v1/prices/{product['default_price']}", {"active": "false"})
    )
    assert error["param"] == "active"
    assert "default price" in error["message"]
    api.post(f"/v1/products/{product['id']}", {"default_price": ""})
    response = api.post(f"/v1/prices/{product['default_price']}", {"active": "false"})
    assert response.json()["active"] is False


def test_unknown_price_is_404(api):
    response = api.get("/v1/prices/price_missing")
    assert response.status_code == 404
    assert error_of(response)["code"] == "resource_missing"
    assert api.post("/v1/prices/price_missing", {"nickname": "x"}).status_code == 404


# ---- lookup keys -------------------------------------------------------------------


def test_lookup_key_is_unique_among_active_prices(api, product):
    first = _price(api, product, lookup_key="pro_monthly")
    error = error_of(
        api.post(
            "/v1/prices",
            {
                "currency": "usd",
                "product": product["id"],
                "unit_amount": 200,
                "lookup_key": "pro_monthly",
            },
        )
    )
    assert error["param"] == "lookup_key"
    assert first["id"] in error["message"]
    assert Price.objects.count() == 1


def test_transfer_lookup_key_moves_it(api, product):
    first = _price(api, product, lookup_key="pro_monthly")
    second = _price(api, product, lookup_key="pro_monthly", transfer_lookup_key="true")
    assert second["lookup_key"] == "pro_monthly"
    assert api.get(f"/v1/prices/{first['id']}").json()["lookup_key"] is None
    moved = Event.objects.get(type="price.updated", object_id=first["id"])
    assert moved.data["previous_attributes"] == {"lookup_key": "pro_monthly"}
    # And back again, through an update.
    third = _price(api, product)
    error = error_of(
        api.post(f"/v1/prices/{third['id']}", {"lookup_key": "pro_monthly"})
    )
    assert error["param"] == "lookup_key"
    body = api.post(
        f"/v1/prices/{third['id']}",
        {"lookup_key": "pro_monthly", "transfer_lookup_key": "true"},
    ).json()
    assert body["lookup_key"] == "pro_monthly"
    assert api.get(f"/v1/prices/{second['id']}").json()["lookup_key"] is None


def test_archived_price_keeps_its_key_but_frees_it(api, product):
    first = _price(api, product, lookup_key="basic")
    api.post(f"/v1/prices/{first['id']}", {"active": "false"})
    second = _price(api, product, lookup_key="basic")
    assert second["lookup_key"] == "basic"
    error = error_of(api.post(f"/v1/prices/{first['id']}", {"active": "true"}))
    assert error["param"] == "lookup_key"
    assert api.get(f"/v1/prices/{first['id']}").json()["active"] is False


# ---- lists -------------------------------------------------------------------------


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [price["id"] for price in response.json()["data"]]


def test_list_filters(api, meter):
    pro = api.post("/v1/products", {"name": "Pro"}).json()["id"]
    tokens = api.post("/v1/products", {"name": "Tokens"}).json()["id"]
    monthly = _price(
        api, {"id": pro}, recurring={"interval": "month"}, lookup_key="pro_monthly"
    )
    yearly = _price(
        api, {"id": pro}, recurring={"interval": "year"}, lookup_key="pro_yearly"
    )
    metered = _price(
        api,
        {"id": tokens},
        recurring={"interval": "month", "usage_type": "metered", "meter": meter.pk},
    )
    once = _price(api, {"id": tokens}, currency="eur")
    archived = _price(api, {"id": pro})
    api.post(f"/v1/prices/{archived['id']}", {"active": "false"})

    everything = {monthly["id"], yearly["id"], metered["id"], once["id"]}
    assert set(_ids(api.get("/v1/prices", {"limit": 100}))) == everything
    assert _ids(api.get("/v1/prices", {"active": "false"})) == [archived["id"]]
    assert set(_ids(api.get("/v1/prices", {"currency": "eur"}))) == {once["id"]}
    assert set(_ids(api.get("/v1/prices", {"product": tokens}))) == {
        metered["id"],
        once["id"],
    }
    assert set(_ids(api.get("/v1/prices", {"type": "one_time"}))) == {once["id"]}
    assert set(_ids(api.get("/v1/prices", {"type": "recurring"}))) == {
        monthly["id"],
        yearly["id"],
        metered["id"],
    }
    assert set(_ids(api.get("/v1/prices", {"recurring": {"interval": "month"}}))) == {
        monthly["id"],
        metered["id"],
    }
    assert set(
        _ids(api.get("/v1/prices", {"recurring": {"usage_type": "metered"}}))
    ) == {metered["id"]}
    assert set(_ids(api.get("/v1/prices", {"recurring": {"meter": meter.pk}}))) == {
        metered["id"]
    }
    assert set(
        _ids(api.get("/v1/prices", {"lookup_keys": ["pro_monthly", "pro_yearly", "x"]}))
    ) == {monthly["id"], yearly["id"]}
    assert (
        error_of(api.get("/v1/prices", {"lookup_keys": [str(n) for n in range(11)]}))[
            "param"
        ]
        == "lookup_keys"
    )
    assert error_of(api.get("/v1/prices", {"type": "sometimes"}))["param"] == "type"


def test_list_created_filter_and_pagination(api, product):
    stamps = []
    for year in (2024, 2025, 2026):
        price = _price(api, product)
        moment = datetime(year, 1, 1, tzinfo=UTC)
        Price.objects.filter(pk=price["id"]).update(created=moment)
        stamps.append((price["id"], int(moment.timestamp())))
    (old, t2024), (mid, t2025), (new, t2026) = stamps
    assert _ids(api.get("/v1/prices", {"created": {"gte": t2025}})) == [new, mid]
    assert _ids(api.get("/v1/prices", {"created": {"lt": t2025}})) == [old]
    assert _ids(api.get("/v1/prices", {"created": t2026})) == [new]
    page = api.get("/v1/prices", {"limit": 2}).json()
    assert [p["id"] for p in page["data"]] == [new, mid]
    assert page["has_more"] is True
    assert page["url"] == "/v1/prices"
    assert _ids(api.get("/v1/prices", {"limit": 2, "starting_after": mid})) == [old]


def test_created_price_event_has_the_price(api, product):
    price = _price(api, product)
    event = Event.objects.get(type="price.created")
    assert event.data["object"] == price
    assert event.object_id == price["id"]


def test_list_queries_do_not_grow_with_the_page(api):
    def tiered(count: int) -> None:
        product = api.post("/v1/products", {"name": "Tiers"}).json()
        for _ in range(count):
            api.post(
                "/v1/prices",
                {
                    **TIERED,
                    "product": product["id"],
                    "tiers": [
                        {"up_to": 5, "unit_amount": 1},
                        {"up_to": "inf", "unit_amount": 2},
                    ],
                },
            )

    tiered(2)
    with CaptureQueriesContext(connection) as small:
        api.get("/v1/prices", {"limit": 100, "expand": ["data.tiers"]})
    tiered(20)
    with CaptureQueriesContext(connection) as large:
        body = api.get("/v1/prices", {"limit": 100, "expand": ["data.tiers"]}).json()
    assert len(body["data"]) == 22
    assert len(large.captured_queries) == len(small.captured_queries)


def test_response_has_exactly_the_documented_fields(api, product):
    from catalog.api.serializers import PriceSerializer

    price = _price(api, product)
    declared = set(PriceSerializer().fields)
    expanded = api.get(f"/v1/prices/{price['id']}", {"expand": ["tiers"]}).json()
    assert set(expanded) == declared
    assert set(price) == declared - {"tiers"}


@pytest.mark.parametrize(
    ("up_to", "code"),
    [
        ("¹", "parameter_invalid"),  # a digit to str.isdigit, not to int()
        ("9" * 5000, None),  # more digits than int() takes
        ("0" * 30 + "5", None),  # leading zeros are fine
    ],
)
def test_odd_up_to_values_are_refused_or_read(api, product, up_to, code):
    tiers = [{"up_to": up_to, "unit_amount": 1}, {"up_to": "inf", "unit_amount": 2}]
    response = api.post(
        "/v1/prices",
        {**TIERED, "product": product["id"], "tiers": tiers, "expand": ["tiers"]},
    )
    if up_to.startswith("0"):
        assert response.status_code == 200, response.content
        assert response.json()["tiers"][0]["up_to"] == 5
        return
    error = error_of(response)
    assert error["param"] == "tiers[0][up_to]"
    if code:
        assert error["code"] == code
    assert not Price.objects.exists()
