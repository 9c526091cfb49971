"""The OpenAPI schema and the browsable docs are served without a key."""

from django.core.management import call_command
from django.test import Client


def test_schema_describes_the_api(db):
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert "/v1/customers" in schema["paths"]
    assert "/v1/test_helpers/test_clocks/{test_clock_id}/advance" in schema["paths"]


def test_docs_page(db):
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_the_schema_generates_without_a_warning(tmp_path):
    """``manage.py spectacular --validate --fail-on-warn``: each field has its JSON
    type, each component one name (core/api/schema.py)."""
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--file",
        str(tmp_path / "schema.yaml"),
    )


def test_lists_errors_and_expandable_fields_are_documented(db):
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    listing = schema["paths"]["/v1/customers"]["get"]["responses"]
    assert listing["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CustomerList"
    }
    customer_list = schema["components"]["schemas"]["CustomerList"]
    assert customer_list["properties"]["object"]["enum"] == ["list"]
    assert customer_list["properties"]["data"]["type"] == "array"
    for path in schema["paths"].values():
        for operation in path.values():
            assert {"400", "401", "403", "404", "429"} <= set(operation["responses"])
    customer = schema["components"]["schemas"]["Customer"]["properties"]
    assert customer["created"]["type"] == "integer"
    assert {"type": "string"} in customer["test_clock"]["anyOf"]
