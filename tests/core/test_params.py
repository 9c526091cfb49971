"""Stripe's form encoding: nested objects, indexed and appended arrays, ``""``."""

import pytest

from core.api.params import parse_nested, split_key
from core.errors import InvalidRequest


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([("name", "Jenny")], {"name": "Jenny"}),
        ([("a[b][c]", "1")], {"a": {"b": {"c": "1"}}}),
        (
            [
                ("items[0][price]", "p1"),
                ("items[1][price]", "p2"),
                ("items[0][quantity]", "2"),
            ],
            {"items": [{"price": "p1", "quantity": "2"}, {"price": "p2"}]},
        ),
        (
            [("expand[]", "customer"), ("expand[]", "test_clock")],
            {"expand": ["customer", "test_clock"]},
        ),
        ([("expand[0]", "a"), ("expand[1]", "b")], {"expand": ["a", "b"]}),
        # Indexes order the list even when sent out of order.
        ([("x[1]", "second"), ("x[0]", "first")], {"x": ["first", "second"]}),
        ([("metadata", "")], {"metadata": ""}),
        ([("metadata[plan]", "")], {"metadata": {"plan": ""}}),
        ([("flag", "true"), ("other", "false")], {"flag": "true", "other": "false"}),
        (
            [("tiers[0][up_to]", "5"), ("tiers[1][up_to]", "inf")],
            {"tiers": [{"up_to": "5"}, {"up_to": "inf"}]},
        ),
        ([], {}),
    ],
)
def test_parse_nested(pairs, expected):
    assert parse_nested(pairs) == expected


def test_split_key():
    assert split_key("items[0][price_data][recurring][interval]") == [
        "items",
        "0",
        "price_data",
        "recurring",
        "interval",
    ]
    assert split_key("expand[]") == ["expand", ""]


@pytest.mark.parametrize("key", ["a[b", "[a]", "a]b["])
def test_malformed_keys_are_refused(key):
    with pytest.raises(InvalidRequest):
        parse_nested([(key, "1")])


def test_value_and_object_under_one_name_is_refused():
    with pytest.raises(InvalidRequest) as info:
        parse_nested([("a", "1"), ("a[b]", "2")])
    assert info.value.param == "a[b]"


def test_form_and_json_bodies_are_equivalent(api):
    form = api.post(
        "/v1/customers",
        {
            "name": "A",
            "address": {"city": "Berlin"},
            "metadata": {"k": "v"},
            "preferred_locales": ["de", "en"],
        },
    )
    json_body = api.post_json(
        "/v1/customers",
        {
            "name": "A",
            "address": {"city": "Berlin"},
            "metadata": {"k": "v"},
            "preferred_locales": ["de", "en"],
        },
    )
    assert form.status_code == json_body.status_code == 200
    for key in ("name", "address", "metadata", "preferred_locales"):
        assert form.json()[key] == json_body.json()[key]


def test_query_string_is_parsed_the_same_way(api):
    api.post("/v1/customers", {"email": "q@example.com"})
    response = api.get(
        "/v1/customers",
        {
            "email": "q@example.com",
            "expand": ["data.test_clock"],
            "created": {"gte": 0},
        },
    )
    assert response.status_code == 200
    assert [c["email"] for c in response.json()["data"]] == ["q@example.com"]


def test_empty_string_clears_a_field(api):
    created = api.post(
        "/v1/customers",
        {"name": "Jenny", "phone": "+49 30 1234", "address": {"city": "Berlin"}},
    ).json()
    updated = api.post(
        f"/v1/customers/{created['id']}", {"phone": "", "address": ""}
    ).json()
    assert updated["phone"] is None
    assert updated["address"] is None
    assert updated["name"] == "Jenny"


def test_booleans_as_strings(api):
    response = api.get("/v1/events", {"delivery_success": "true"})
    assert response.status_code == 200
    response = api.get("/v1/events", {"delivery_success": "maybe"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        # "¹" and "٣" are digits to str.isdigit but not to int(): plain keys.
        ([("¹", "x")], {"¹": "x"}),
        ([("a[٣]", "x")], {"a": {"٣": "x"}}),
        # An index too long for int() is an object key too.
        ([("a[" + "1" * 5000 + "]", "x")], {"a": {"1" * 5000: "x"}}),
    ],
)
def test_keys_that_only_look_like_indexes(pairs, expected):
    assert parse_nested(pairs) == expected


@pytest.mark.parametrize(
    "body",
    [
        "%C2%B9=x",  # "¹"
        "customer%5B%C2%B9%5D=x",
        "expand%5B" + "9" * 5000 + "%5D=customer",
    ],
)
def test_odd_digits_in_a_form_body_are_a_400(api, body):
    response = api.client.post(
        "/v1/invoices/create_preview",
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Bearer {api.secret}",
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["type"] == "invalid_request_error"
