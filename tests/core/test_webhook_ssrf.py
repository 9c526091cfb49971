"""Webhook URLs cannot reach loopback, private or link-local addresses (SSRF), when
set and when a delivery connects, unless TALLY_WEBHOOK_ALLOWED_NETWORKS lists them."""

from __future__ import annotations

import socket

import pytest

from core.webhooks import transport
from tests.core.test_webhook_signing import serving
from tests.helpers import error_of

pytestmark = pytest.mark.django_db

BLOCKED = [
    "http://127.0.0.1:9000/hook",
    "http://localhost:9000/hook",
    "http://[::1]:9000/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://2130706433/hook",  # 127.0.0.1 written as one number
    "http://0.0.0.0/hook",
    "http://10.1.2.3/hook",
    "http://172.16.0.9/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",  # shared (carrier-grade NAT)
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://224.0.0.1/hook",
]


@pytest.fixture
def production(settings):
    settings.TALLY_WEBHOOK_ALLOWED_NETWORKS = []


@pytest.fixture
def receiver():
    yield from serving()


def create(api, url):
    return api.post("/v1/webhook_endpoints", {"url": url, "enabled_events": ["*"]})


@pytest.mark.parametrize("url", BLOCKED)
def test_non_public_addresses_are_refused_by_default(api, production, url):
    error = error_of(create(api, url))
    assert (error["code"], error["param"]) == ("url_invalid", "url")
    assert "TALLY_WEBHOOK_ALLOWED_NETWORKS" in error["message"]


def test_public_addresses_and_unresolved_names_are_accepted(api, production):
    assert create(api, "https://93.184.215.14/hook").status_code == 200
    # Nothing to check yet; the delivery's connection is checked when it resolves.
    assert create(api, "https://hooks.invalid/hook").status_code == 200


def test_an_update_to_a_private_address_is_refused(api, production):
    endpoint = create(api, "https://93.184.215.14/hook").json()
    error = error_of(
        api.post(f"/v1/webhook_endpoints/{endpoint['id']}", {"url": "http://10.0.0.1/"})
    )
    assert error["code"] == "url_invalid"


def test_the_setting_allows_listed_networks_only(api, settings):
    settings.TALLY_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    assert create(api, "http://127.0.0.1:9000/hook").status_code == 200
    assert create(api, "http://[::1]:9000/hook").status_code == 200
    assert error_of(create(api, "http://10.1.2.3/hook"))["code"] == "url_invalid"
    assert error_of(create(api, "http://169.254.169.254/"))["code"] == "url_invalid"


def test_a_delivery_never_connects_to_a_blocked_address(production, receiver):
    outcome = transport.post(url=receiver.url, body=b"{}", headers={})
    assert not outcome.succeeded
    assert "may not target" in outcome.error
    assert receiver.received == []


def test_dns_rebinding_after_the_check_is_caught_on_connecting(
    api, production, receiver, monkeypatch
):
    """A name that resolves to a public address when set, to loopback when sent."""
    real = socket.getaddrinfo
    answers = iter(["93.184.215.14"])

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.example":
            return real(host, port, *args, **kwargs)
        address = next(answers, "127.0.0.1")
        return real(address, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = receiver.server.server_port
    url = f"http://rebind.example:{port}/webhooks"
    assert create(api, url).status_code == 200
    outcome = transport.post(url=url, body=b"{}", headers={})
    assert not outcome.succeeded
    assert "127.0.0.1 is a loopback" in outcome.error
    assert receiver.received == []


def test_an_allowed_loopback_receiver_still_gets_its_webhooks(settings, receiver):
    settings.TALLY_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    outcome = transport.post(url=receiver.url, body=b"{}", headers={})
    assert outcome.succeeded, outcome.error
    assert len(receiver.received) == 1
