"""``/v1/webhook_endpoints``: Stripe's shapes, validation, and the SDK."""

from __future__ import annotations

import pytest
import stripe

from core.models import Event, WebhookDelivery, WebhookEndpoint
from tests.core.test_webhook_signing import endpoint_for, serving
from tests.helpers import error_of

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/tally"


@pytest.fixture
def receiver():
    yield from serving()


def create(api, **params):
    return api.post(
        "/v1/webhook_endpoints",
        {"url": URL, "enabled_events": ["invoice.finalized"], **params},
    )


def test_create_shows_the_secret_once(api):
    response = create(
        api,
        description="ERP",
        metadata={"team": "finance"},
        api_version="2025-05-28.basil",
    )
    body = response.json()
    assert response.status_code == 200
    assert body["id"].startswith("we_")
    assert body["secret"].startswith("whsec_")
    assert {
        key: body[key] for key in body if key not in ("id", "created", "secret")
    } == {
        "object": "webhook_endpoint",
        "api_version": "2025-05-28.basil",
        "application": None,
        "description": "ERP",
        "enabled_events": ["invoice.finalized"],
        "livemode": False,
        "metadata": {"team": "finance"},
        "status": "enabled",
        "url": URL,
    }
    shown = api.get(f"/v1/webhook_endpoints/{body['id']}").json()
    assert "secret" not in shown
    assert shown == {key: value for key, value in body.items() if key != "secret"}
    assert WebhookEndpoint.objects.get().secret == body["secret"]


def test_update_every_field(api):
    endpoint_id = create(api, description="old", metadata={"a": "1", "b": "2"}).json()[
        "id"
    ]
    body = api.post(
        f"/v1/webhook_endpoints/{endpoint_id}",
        {
            "url": "http://127.0.0.1:9000/new",
            "enabled_events": ["*"],
            "description": "",
            "metadata": {"a": "", "c": "3"},
        },
    ).json()
    assert body["url"] == "http://127.0.0.1:9000/new"
    assert body["enabled_events"] == ["*"]
    assert body["description"] is None
    assert body["metadata"] == {"b": "2", "c": "3"}


def test_disable_cancels_pending_deliveries_and_enable_resumes(api, receiver):
    endpoint = endpoint_for(receiver.url)
    receiver.statuses = [500]
    api.post("/v1/customers", {"name": "Pending retry"})
    assert WebhookDelivery.objects.get().status == "pending"

    body = api.post(f"/v1/webhook_endpoints/{endpoint.id}", {"disabled": True}).json()
    assert body["status"] == "disabled"
    assert WebhookDelivery.objects.get().status == "canceled"
    api.post("/v1/customers", {"name": "While disabled"})
    assert len(receiver.received) == 1

    body = api.post(f"/v1/webhook_endpoints/{endpoint.id}", {"disabled": False}).json()
    assert body["status"] == "enabled"
    api.post("/v1/customers", {"name": "Enabled again"})
    assert len(receiver.received) == 2
    assert receiver.received[-1].event["data"]["object"]["name"] == "Enabled again"


def test_delete(api):
    endpoint_id = create(api).json()["id"]
    response = api.delete(f"/v1/webhook_endpoints/{endpoint_id}")
    assert response.json() == {
        "id": endpoint_id,
        "object": "webhook_endpoint",
        "deleted": True,
    }
    assert error_of(api.get(f"/v1/webhook_endpoints/{endpoint_id}"))["code"] == (
        "resource_missing"
    )


def test_list_newest_first_with_pagination(api):
    ids = [create(api, description=str(n)).json()["id"] for n in range(3)]
    page = api.get("/v1/webhook_endpoints", {"limit": 2}).json()
    assert page["object"] == "list"
    assert page["url"] == "/v1/webhook_endpoints"
    assert [item["id"] for item in page["data"]] == ids[::-1][:2]
    assert page["has_more"] is True
    rest = api.get(
        "/v1/webhook_endpoints", {"limit": 2, "starting_after": ids[1]}
    ).json()
    assert [item["id"] for item in rest["data"]] == [ids[0]]
    assert all("secret" not in item for item in page["data"])


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/x",
        "hooks.example.com/x",
        "http://",
        "https://exa mple.com/",
        "http://example.com:99999/",
        "javascript:alert(1)",
        "",
    ],
)
def test_bad_urls_are_refused(api, url):
    error = error_of(create(api, url=url))
    assert (error["code"], error["param"]) == ("url_invalid", "url")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hooks",
        "https://hooks.example.com/tally?token=abc",
        "http://receiver:9000/",  # a container name
        "http://[::1]:9000/hook",
        "https://user:pw@hooks.example.com/",
    ],
)
def test_good_urls_are_accepted(api, url):
    assert create(api, url=url).json()["url"] == url


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://hooks.example.com/x", True),
        ("https://deep.hooks.example.com/x", True),
        ("https://billing.internal/x", True),
        ("https://evil.example.org/x", False),
        ("http://169.254.169.254/latest", False),
    ],
)
def test_staff_can_restrict_hosts(api, settings, url, allowed):
    settings.TALLY_WEBHOOK_ALLOWED_HOSTS = [".hooks.example.com", "billing.internal"]
    response = create(api, url=url)
    if allowed:
        assert response.status_code == 200
    else:
        error = error_of(response)
        assert (error["code"], error["param"]) == ("url_invalid", "url")
        assert "allowed host" in error["message"]


def test_update_checks_the_url_too(api, settings):
    endpoint_id = create(api).json()["id"]
    settings.TALLY_WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
    error = error_of(
        api.post(f"/v1/webhook_endpoints/{endpoint_id}", {"url": "https://x.org/"})
    )
    assert (error["code"], error["param"]) == ("url_invalid", "url")
    assert WebhookEndpoint.objects.get().url == URL


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"enabled_events": ["Invoice Finalized"]}, "enabled_events", None),
        ({"enabled_events": ["invoice"]}, "enabled_events", None),
        ({"enabled_events": None}, "enabled_events", "parameter_missing"),
        ({"url": None}, "url", "parameter_missing"),
        ({"api_version": "latest"}, "api_version", None),
        ({"connect": True}, "connect", None),
        ({"secret": "whsec_mine"}, "secret", "parameter_unknown"),
        ({"metadata": {"k" * 41: "v"}}, "metadata", None),
    ],
)
def test_bad_params(api, params, param, code):
    body = {"url": URL, "enabled_events": ["invoice.finalized"], **params}
    error = error_of(
        api.post(
            "/v1/webhook_endpoints", {k: v for k, v in body.items() if v is not None}
        )
    )
    assert error["param"] == param
    if code:
        assert error["code"] == code
    assert not WebhookEndpoint.objects.exists()


def test_all_events_and_duplicates_are_normalised(api):
    body = create(api, enabled_events=["customer.created", "*"]).json()
    assert body["enabled_events"] == ["*"]
    body = create(
        api, enabled_events=["customer.created", "customer.created", "invoice.paid"]
    ).json()
    assert body["enabled_events"] == ["customer.created", "invoice.paid"]


def test_unknown_endpoint(api):
    for response in (
        api.get("/v1/webhook_endpoints/we_missing"),
        api.post("/v1/webhook_endpoints/we_missing", {"description": "x"}),
        api.delete("/v1/webhook_endpoints/we_missing"),
    ):
        error = error_of(response)
        assert response.status_code == 404
        assert error["message"] == "No such webhook endpoint: 'we_missing'"


def test_endpoint_limit(api, settings):
    settings.TALLY_WEBHOOK_MAX_ENDPOINTS = 2
    create(api)
    create(api)
    error = error_of(create(api))
    assert error["code"] == "resource_limit_exceeded"
    assert WebhookEndpoint.objects.count() == 2


def test_pending_webhooks_and_delivery_success_on_events(api, receiver):
    endpoint_for(receiver.url)
    receiver.statuses = [500]
    api.post("/v1/customers", {"name": "Fails once"})
    api.post("/v1/customers", {"name": "Delivered"})
    failing, delivered = Event.objects.order_by("created", "id")

    assert api.get(f"/v1/events/{failing.id}").json()["pending_webhooks"] == 1
    assert api.get(f"/v1/events/{delivered.id}").json()["pending_webhooks"] == 0
    ok = api.get("/v1/events", {"delivery_success": "true"}).json()["data"]
    not_ok = api.get("/v1/events", {"delivery_success": "false"}).json()["data"]
    assert [event["id"] for event in ok] == [delivered.id]
    assert [event["id"] for event in not_ok] == [failing.id]


@pytest.mark.django_db(transaction=True)
def test_the_sdk_manages_endpoints(stripe_sdk):
    created = stripe_sdk.WebhookEndpoint.create(
        url=URL, enabled_events=["customer.created", "invoice.finalized"]
    )
    assert isinstance(created, stripe.WebhookEndpoint)
    assert created.secret.startswith("whsec_")
    fetched = stripe_sdk.WebhookEndpoint.retrieve(created.id)
    assert fetched.enabled_events == ["customer.created", "invoice.finalized"]
    assert "secret" not in fetched
    modified = stripe_sdk.WebhookEndpoint.modify(
        created.id, disabled=True, description="paused"
    )
    assert (modified.status, modified.description) == ("disabled", "paused")
    listed = stripe_sdk.WebhookEndpoint.list(limit=5)
    assert [endpoint.id for endpoint in listed.auto_paging_iter()] == [created.id]
    removed = stripe_sdk.WebhookEndpoint.delete(created.id)
    assert removed.deleted is True
    with pytest.raises(stripe.InvalidRequestError) as failure:
        stripe_sdk.WebhookEndpoint.create(url="ftp://x", enabled_events=["*"])
    assert (failure.value.code, failure.value.param) == ("url_invalid", "url")
