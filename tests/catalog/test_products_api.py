"""Products API: fields, custom ids, default prices, deletion, list filters, events."""

from __future__ import annotations

from datetime import UTC, datetime

from catalog.models import Product
from core.models import Event
from tests.helpers import error_of

PRODUCT_FIELDS = {
    "id",
    "object",
    "active",
    "created",
    "default_price",
    "description",
    "images",
    "livemode",
    "marketing_features",
    "metadata",
    "name",
    "package_dimensions",
    "shippable",
    "statement_descriptor",
    "tax_code",
    "type",
    "unit_label",
    "updated",
    "url",
}


def test_create_with_every_field(api):
    params = {
        "id": "prod_hypernian",
        "name": "Hypernian",
        "description": "LLM tokens",
        "active": "true",
        "type": "service",
        "unit_label": "token",
        "statement_descriptor": "HYPERNIAN",
        "tax_code": "txcd_10000000",
        "url": "https://hypernian.example/pro",
        "images": ["https://hypernian.example/logo.png"],
        "marketing_features": [{"name": "100,000 tokens included"}],
        "shippable": "false",
        "package_dimensions": {"height": 1, "length": 2, "weight": 3, "width": 4},
        "metadata": {"tier": "pro"},
    }
    response = api.post("/v1/products", params)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == PRODUCT_FIELDS
    assert body["id"] == "prod_hypernian"
    assert body["object"] == "product"
    assert body["active"] is True
    assert body["shippable"] is False
    assert body["default_price"] is None
    assert body["marketing_features"] == [{"name": "100,000 tokens included"}]
    assert body["package_dimensions"] == {
        "height": 1.0,
        "length": 2.0,
        "weight": 3.0,
        "width": 4.0,
    }
    for key in (
        "name",
        "description",
        "unit_label",
        "statement_descriptor",
        "tax_code",
        "url",
        "images",
        "metadata",
        "type",
    ):
        assert body[key] == params[key], key
    assert body["updated"] == body["created"]
    assert api.get("/v1/products/prod_hypernian").json() == body
    event = Event.objects.get(type="product.created")
    assert event.data["object"] == body


def test_generated_id_and_defaults(api):
    body = api.post("/v1/products", {"name": "Tokens"}).json()
    assert body["id"].startswith("prod_")
    assert body["type"] == "service"
    assert body["images"] == []
    assert body["metadata"] == {}
    assert body["description"] is None
    assert body["unit_label"] is None


def test_custom_id_must_be_unused_and_well_formed(api):
    api.post("/v1/products", {"id": "gold", "name": "Gold"})
    error = error_of(api.post("/v1/products", {"id": "gold", "name": "Other"}))
    assert (error["param"], error["code"]) == ("id", "resource_already_exists")
    error = error_of(api.post("/v1/products", {"id": "no spaces", "name": "Other"}))
    assert error["param"] == "id"
    assert Product.objects.count() == 1


def test_create_requires_a_name(api):
    error = error_of(api.post("/v1/products", {}))
    assert (error["param"], error["code"]) == ("name", "parameter_missing")
    assert (
        error_of(api.post("/v1/products", {"name": "x", "unit_label": "x" * 13}))[
            "param"
        ]
        == "unit_label"
    )
    assert (
        error_of(api.post("/v1/products", {"name": "x", "colour": "red"}))["code"]
        == "parameter_unknown"
    )


def test_default_price_data_creates_and_sets_the_price(api):
    body = api.post(
        "/v1/products",
        {
            "name": "Hypernian Pro",
            "default_price_data": {
                "currency": "usd",
                "unit_amount": 20000,
                "recurring": {"interval": "month"},
                "metadata": {"plan": "pro"},
            },
            "expand": ["default_price"],
        },
    ).json()
    price = body["default_price"]
    assert price["object"] == "price"
    assert price["product"] == body["id"]
    assert price["unit_amount"] == 20000
    assert price["recurring"]["interval"] == "month"
    assert price["recurring"]["usage_type"] == "licensed"
    assert price["metadata"] == {"plan": "pro"}
    types = sorted(Event.objects.values_list("type", flat=True))
    assert types == ["price.created", "product.created"]
    created = Event.objects.get(type="product.created")
    assert created.data["object"]["default_price"] == price["id"]


def test_invalid_default_price_data_writes_nothing(api):
    error = error_of(
        api.post(
            "/v1/products",
            {
                "name": "Pro",
                "default_price_data": {
                    "currency": "usd",
                    "unit_amount": 1,
                    "unit_amount_decimal": "1",
                },
            },
        )
    )
    assert error["param"] == "unit_amount"
    error = error_of(
        api.post(
            "/v1/products",
            {
                "name": "Pro",
                "default_price_data": {"currency": "usd", "tiers_mode": "x"},
            },
        )
    )
    assert error["param"] == "default_price_data[tiers_mode]"
    assert not Product.objects.exists()
    assert not Event.objects.exists()


def test_update_records_previous_attributes(api):
    product = api.post("/v1/products", {"name": "Old", "metadata": {"a": "1"}}).json()
    Product.objects.filter(pk=product["id"]).update(
        created=datetime(2026, 1, 1, tzinfo=UTC),
        updated=datetime(2026, 1, 1, tzinfo=UTC),
    )
    body = api.post(
        f"/v1/products/{product['id']}",
        {"name": "New", "description": "Now with words", "metadata": {"b": "2"}},
    ).json()
    assert body["name"] == "New"
    assert body["metadata"] == {"a": "1", "b": "2"}
    assert body["updated"] > int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    event = Event.objects.get(type="product.updated")
    previous = event.data["previous_attributes"]
    assert previous["name"] == "Old"
    assert previous["description"] is None
    assert previous["metadata"] == {"a": "1"}
    assert "updated" in previous
    cleared = api.post(f"/v1/products/{product['id']}", {"description": ""}).json()
    assert cleared["description"] is None


def test_update_without_change_records_nothing(api):
    product = api.post("/v1/products", {"name": "Same"}).json()
    body = api.post(f"/v1/products/{product['id']}", {"name": "Same"}).json()
    assert body["updated"] == product["updated"]
    assert not Event.objects.filter(type="product.updated").exists()


def test_default_price_rules(api):
    product = api.post("/v1/products", {"name": "Pro"}).json()
    other = api.post("/v1/products", {"name": "Other"}).json()
    own = api.post(
        "/v1/prices", {"currency": "usd", "product": product["id"], "unit_amount": 100}
    ).json()
    foreign = api.post(
        "/v1/prices", {"currency": "usd", "product": other["id"], "unit_amount": 100}
    ).json()
    url = f"/v1/products/{product['id']}"
    for price_id in ("price_missing", foreign["id"]):
        assert error_of(api.post(url, {"default_price": price_id}))["param"] == (
            "default_price"
        )
    api.post(f"/v1/prices/{own['id']}", {"active": "false"})
    error = error_of(api.post(url, {"default_price": own["id"]}))
    assert "inactive" in error["message"]
    api.post(f"/v1/prices/{own['id']}", {"active": "true"})
    assert (
        api.post(url, {"default_price": own["id"]}).json()["default_price"] == own["id"]
    )
    expanded = api.get(url, {"expand": ["default_price"]}).json()
    assert expanded["default_price"]["id"] == own["id"]
    assert api.post(url, {"default_price": ""}).json()["default_price"] is None


def test_archive_product(api):
    product = api.post("/v1/products", {"name": "Old plan"}).json()
    body = api.post(f"/v1/products/{product['id']}", {"active": "false"}).json()
    assert body["active"] is False
    event = Event.objects.get(type="product.updated")
    assert event.data["previous_attributes"]["active"] is True


def test_delete_only_without_prices(api):
    product = api.post("/v1/products", {"name": "Priced"}).json()
    api.post(
        "/v1/prices", {"currency": "usd", "product": product["id"], "unit_amount": 1}
    )
    response = api.delete(f"/v1/products/{product['id']}")
    assert response.status_code == 400
    assert "has one or more user-created prices" in error_of(response)["message"]
    assert Product.objects.filter(pk=product["id"]).exists()

    empty = api.post("/v1/products", {"name": "Empty"}).json()
    response = api.delete(f"/v1/products/{empty['id']}")
    assert response.json() == {"id": empty["id"], "object": "product", "deleted": True}
    assert api.get(f"/v1/products/{empty['id']}").status_code == 404
    assert api.delete(f"/v1/products/{empty['id']}").status_code == 404
    event = Event.objects.get(type="product.deleted")
    assert event.data["object"]["id"] == empty["id"]
    assert event.data["object"]["name"] == "Empty"


def test_unknown_product_is_404(api):
    response = api.get("/v1/products/prod_missing")
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "resource_missing"
    assert error["message"] == "No such product: 'prod_missing'"


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [product["id"] for product in response.json()["data"]]


def test_list_filters(api):
    made = {}
    for year, name in ((2024, "a"), (2025, "b"), (2026, "c")):
        made[name] = api.post(
            "/v1/products", {"name": name, "id": f"prod_{name}"}
        ).json()
        moment = datetime(year, 1, 1, tzinfo=UTC)
        Product.objects.filter(pk=made[name]["id"]).update(created=moment)
    api.post("/v1/products/prod_b", {"active": "false"})
    t2025 = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())

    assert _ids(api.get("/v1/products")) == ["prod_c", "prod_b", "prod_a"]
    assert _ids(api.get("/v1/products", {"active": "true"})) == ["prod_c", "prod_a"]
    assert _ids(api.get("/v1/products", {"active": "false"})) == ["prod_b"]
    assert _ids(api.get("/v1/products", {"created": {"gte": t2025}})) == [
        "prod_c",
        "prod_b",
    ]
    assert _ids(api.get("/v1/products", {"created": {"lt": t2025}})) == ["prod_a"]
    assert _ids(api.get("/v1/products", {"ids": ["prod_a", "prod_c", "prod_x"]})) == [
        "prod_c",
        "prod_a",
    ]
    error = error_of(
        api.get("/v1/products", {"ids": ["prod_a"], "starting_after": "prod_c"})
    )
    assert error["param"] == "ids"
    assert _ids(api.get("/v1/products", {"limit": 1, "starting_after": "prod_c"})) == [
        "prod_b"
    ]
    assert _ids(api.get("/v1/products", {"expand": ["data.default_price"]})) == [
        "prod_c",
        "prod_b",
        "prod_a",
    ]
