"""Every failure under /v1 answers in Stripe's envelope, never an HTML page."""

import base64

import pytest
from django.test import Client

from core.services import customers as customer_services
from tests.helpers import error_of


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/v1/customers/cus_missing", 404, "resource_missing"),
        ("get", "/v1/no_such_resource", 404, "resource_missing"),
        ("get", "/v1/customers/cus_x/nothing/here", 404, "resource_missing"),
        ("get", "/v2/nothing", 404, "resource_missing"),
        ("put", "/v1/customers", 405, "method_not_allowed"),
        ("patch", "/v1/customers/cus_x", 405, "method_not_allowed"),
        ("get", "/v1/events/evt_missing", 404, "resource_missing"),
        ("get", "/v1/test_helpers/test_clocks/clock_missing", 404, "resource_missing"),
        ("post", "/v1/customers/cus_missing", 404, "resource_missing"),
        ("delete", "/v1/customers/cus_missing", 404, "resource_missing"),
    ],
)
def test_error_envelopes(api, method, path, status, code):
    response = getattr(api.client, method)(
        path, HTTP_AUTHORIZATION=f"Bearer {api.secret}"
    )
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert error_of(response)["code"] == code


def test_missing_key(db):
    response = Client().get("/v1/customers")
    assert response.status_code == 401
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    assert "API key" in error["message"]


def test_wrong_key(db):
    response = Client().get(
        "/v1/customers", HTTP_AUTHORIZATION="Bearer sk_test_wrongwrongwrong"
    )
    assert response.status_code == 401
    assert "sk_test_****rong" in error_of(response)["message"]


def test_basic_auth(api):
    token = base64.b64encode(f"{api.secret}:".encode()).decode()
    response = api.client.get("/v1/customers", HTTP_AUTHORIZATION=f"Basic {token}")
    assert response.status_code == 200


def test_revoked_key(api):
    from core.models import ApiKey

    ApiKey.objects.update(revoked_at="2026-01-01T00:00:00Z")
    assert api.get("/v1/customers").status_code == 401


def test_unknown_parameter(api):
    error = error_of(api.post("/v1/customers", {"nmae": "typo"}))
    assert error == {
        "type": "invalid_request_error",
        "code": "parameter_unknown",
        "message": "Received unknown parameter: nmae",
        "param": "nmae",
    }


def test_nested_unknown_parameter(api):
    error = error_of(
        api.post(
            "/v1/customers",
            {
                "invoice_settings": {
                    "custom_fields": [{"name": "VAT", "value": "DE1", "colour": "red"}]
                }
            },
        )
    )
    assert error["param"] == "invoice_settings[custom_fields][0][colour]"


def test_invalid_value_names_the_param(api):
    error = error_of(api.post("/v1/customers", {"email": "not-an-email"}))
    assert error["param"] == "email"
    assert error["type"] == "invalid_request_error"


def test_missing_required_param(api):
    error = error_of(api.post("/v1/test_helpers/test_clocks", {"name": "x"}))
    assert error["code"] == "parameter_missing"
    assert error["param"] == "frozen_time"
    assert error["message"] == "Missing required param: frozen_time."


def test_malformed_json_body(api):
    response = api.client.post(
        "/v1/customers",
        "{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.secret}",
    )
    assert response.status_code == 400
    assert error_of(response)["type"] == "invalid_request_error"


def test_json_body_must_be_an_object(api):
    response = api.post_json("/v1/customers", ["a", "b"])
    assert response.status_code == 400


def test_unexpected_exception_is_a_500_envelope(api, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(customer_services, "customer_create", explode)
    response = api.post("/v1/customers", {"name": "x"})
    assert response.status_code == 500
    assert error_of(response)["type"] == "api_error"
    assert "boom" not in response.content.decode()


def test_request_id_on_every_response(api):
    for response in (
        api.get("/v1/customers"),
        api.get("/v1/nothing"),
        Client().get("/v1/customers"),
    ):
        assert response["Request-Id"].startswith("req_")
