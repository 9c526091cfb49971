"""Dashboard → Developers → Webhooks: endpoints, deliveries, secret, resend, test."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from core import clock
from core.models import WebhookDelivery, WebhookEndpoint
from core.services import webhooks
from core.services.customers import customer_create
from tests.core.test_webhook_signing import endpoint_for, serving, verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    yield from serving()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what a request queues after commit (tasks run in-process in tests)."""

    def call(function, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return call


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_create_an_endpoint_and_see_its_secret_once(admin_client, receiver):
    response = admin_client.post(
        reverse("admin:core_webhookendpoint_add"),
        {
            "url": receiver.url,
            "description": "ERP sync",
            "events": ["customer.created", "invoice.finalized"],
            "other_events": "charge.succeeded",
            "_save": "Save",
        },
        follow=True,
    )
    endpoint = WebhookEndpoint.objects.get()
    html = page(response)
    assert endpoint.enabled_events == [
        "customer.created",
        "invoice.finalized",
        "charge.succeeded",
    ]
    assert endpoint.secret in html
    assert response.redirect_chain[-1][0] == reverse(
        "admin:core_webhookendpoint_change", args=[quote(endpoint.pk)]
    )
    again = page(admin_client.get(response.redirect_chain[-1][0]))
    assert endpoint.secret not in again
    assert "Reveal secret" in again


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"url": "ftp://example.com/", "all_events": "on"}, "scheme must be http"),
        ({"url": "https://example.com/"}, "at least one event type"),
        (
            {"url": "https://example.com/", "other_events": "Not A Type"},
            "is not an event type",
        ),
    ],
)
def test_the_form_explains_mistakes(admin_client, data, error):
    response = admin_client.post(reverse("admin:core_webhookendpoint_add"), data)
    assert error in page(response)
    assert not WebhookEndpoint.objects.exists()


def test_edit_an_endpoint(admin_client, receiver):
    endpoint = endpoint_for(receiver.url, ["customer.created"])
    url = reverse("admin:core_webhookendpoint_change", args=[quote(endpoint.pk)])
    html = page(admin_client.get(url))
    assert 'value="customer.created" checked' in html.replace("\n", " ") or re.search(
        r'value="customer.created"[^>]*checked', html
    )
    admin_client.post(
        url,
        {"url": receiver.url + "/v2", "description": "", "all_events": "on"},
    )
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.enabled_events) == (receiver.url + "/v2", ["*"])


def test_list_shows_health(admin_client, receiver):
    healthy = endpoint_for(receiver.url, description="healthy")
    failing = endpoint_for("http://127.0.0.1:9/failing")
    WebhookEndpoint.objects.filter(pk=failing.pk).update(failing_since=clock.now())
    html = page(admin_client.get(reverse("admin:core_webhookendpoint_changelist")))
    assert healthy.url in html
    assert 'tally-badge ok">enabled' in html
    assert 'tally-badge warn">failing' in html


def test_endpoint_page_lists_deliveries_with_retry_times(
    admin_client, receiver, committed
):
    receiver.statuses = [500]
    endpoint = endpoint_for(receiver.url)
    committed(customer_create, params={"name": "Shown"})
    delivery = WebhookDelivery.objects.get()
    html = page(
        admin_client.get(
            reverse("admin:core_webhookendpoint_change", args=[quote(endpoint.pk)])
        )
    )
    assert "customer.created" in html
    assert 'tally-badge warn">pending' in html
    assert "HTTP 500" in html
    assert delivery.next_attempt_at.strftime("%Y-%m-%d %H:%M") in html
    assert (
        reverse("admin:core_webhookdelivery_change", args=[quote(delivery.pk)]) in html
    )


def test_delivery_page_shows_payload_and_attempts_and_resends(
    admin_client, receiver, committed
):
    receiver.statuses = [502]
    endpoint = endpoint_for(receiver.url)
    customer = committed(customer_create, params={"name": "Payload Person"})
    delivery = WebhookDelivery.objects.get()
    url = reverse("admin:core_webhookdelivery_change", args=[quote(delivery.pk)])
    html = page(admin_client.get(url))
    assert customer.id in html
    assert "Payload Person" in html
    assert "HTTP 502" in html
    assert "&quot;object&quot;: &quot;event&quot;" in html

    response = committed(
        admin_client.post,
        reverse("admin:core_webhookdelivery_resend", args=[delivery.pk]),
    )
    html = page(admin_client.get(response["Location"]))
    assert "Sent again" in html
    assert "HTTP 200" in html
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == ("succeeded", 2)
    assert verified(receiver.received[-1], endpoint.secret).id == delivery.event_id


def test_send_test_event(admin_client, receiver, committed):
    endpoint = endpoint_for(receiver.url, ["invoice.paid"])
    response = committed(
        admin_client.post,
        reverse("admin:core_webhookendpoint_send_test", args=[endpoint.pk]),
    )
    html = page(admin_client.get(response["Location"]))
    (received,) = receiver.received
    event = verified(received, endpoint.secret)
    assert event.type == "ping"
    assert f"Test event {event.id} sent." in html
    assert "tally-badge ok" in html


def test_reveal_and_roll_the_secret(admin_client, receiver):
    endpoint = endpoint_for(receiver.url)
    reveal = reverse("admin:core_webhookendpoint_reveal_secret", args=[endpoint.pk])
    assert admin_client.get(reveal).status_code == 405
    assert endpoint.secret in page(admin_client.post(reveal))

    roll = reverse("admin:core_webhookendpoint_roll_secret", args=[endpoint.pk])
    html = page(admin_client.post(roll, {"expires_in": "24"}))
    rolled = WebhookEndpoint.objects.get()
    assert rolled.secret != endpoint.secret
    assert rolled.secret in html
    assert rolled.previous_secret == endpoint.secret
    assert "keeps signing too" in html
    assert endpoint.secret not in html


def test_disable_and_enable(admin_client, receiver, committed):
    endpoint = endpoint_for(receiver.url)
    admin_client.post(reverse("admin:core_webhookendpoint_disable", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert (endpoint.status, endpoint.disabled_reason) == ("disabled", "manual")
    html = page(
        admin_client.get(
            reverse("admin:core_webhookendpoint_change", args=[quote(endpoint.pk)])
        )
    )
    assert "disabled (manual)" in html
    admin_client.post(reverse("admin:core_webhookendpoint_enable", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.status == "enabled"


def test_delete_an_endpoint(admin_client, receiver):
    endpoint = endpoint_for(receiver.url)
    admin_client.post(
        reverse("admin:core_webhookendpoint_delete", args=[quote(endpoint.pk)]),
        {"post": "yes"},
    )
    assert not WebhookEndpoint.objects.exists()


def test_deliveries_and_emails_lists(admin_client, receiver, committed, settings):
    endpoint_for(receiver.url)
    committed(customer_create, params={"name": "Listed"})
    html = page(admin_client.get(reverse("admin:core_webhookdelivery_changelist")))
    assert "customer.created" in html
    assert 'tally-badge ok">succeeded' in html
    page(admin_client.get(reverse("admin:core_outboundemail_changelist")))
    home = page(admin_client.get(reverse("admin:index")))
    assert "Webhook endpoints failing" in home
    assert "Webhooks" in home


def test_staff_only(client, receiver):
    endpoint = endpoint_for(receiver.url)
    response = client.post(
        reverse("admin:core_webhookendpoint_send_test", args=[endpoint.pk])
    )
    assert response.status_code == 302
    assert "/login/" in response["Location"]
    assert receiver.received == []


@pytest.mark.browser
def test_browser_create_endpoint_and_send_a_test_event(staff_page, live_server):
    server = next(serving())
    try:
        page_ = staff_page
        page_.goto(f"{live_server.url}/admin/core/webhookendpoint/add/")
        page_.fill("#id_url", server.url)
        page_.fill("#id_description", "Browser test")
        page_.check("#id_all_events")
        page_.click("input[name='_save']")
        page_.wait_for_selector("text=Endpoint created")
        endpoint = WebhookEndpoint.objects.get()
        assert endpoint.secret in page_.content()
        page_.click("text=Send test event")
        page_.wait_for_selector("#delivery-attempts")
        assert "HTTP 200" in page_.inner_text("#delivery-attempts")
        (received,) = server.received
        assert verified(received, endpoint.secret).type == "ping"
        page_.click("text=Resend")
        page_.wait_for_selector("text=Sent again")
        assert len(server.received) == 2
    finally:
        server.stop()
    webhooks.webhook_endpoint_delete(endpoint=WebhookEndpoint.objects.get())
