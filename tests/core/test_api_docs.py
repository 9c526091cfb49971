"""The OpenAPI schema and the browsable docs are served without a key."""

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
