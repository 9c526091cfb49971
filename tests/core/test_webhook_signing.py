"""Webhook signatures, checked with the official SDK; the test receiver lives here."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from core.webhooks import signing


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that records every POST.

    ``statuses`` are answered in turn (then 200); while ``hold`` is set the handler
    waits for ``release`` (a receiver that hangs).
    """

    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    hold: bool = False
    release: threading.Event = field(default_factory=threading.Event)
    answer: bytes = b'{"received": true}'
    server: ThreadingHTTPServer | None = None
    keep_alive: bool = False  # HTTP/1.1, several requests per connection
    connections: int = 0  # TCP connections accepted

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/webhooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if receiver.keep_alive else "HTTP/1.0"

            def setup(self):
                super().setup()
                receiver.connections += 1

            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.received.append(Received(body, dict(self.headers.items())))
                if receiver.hold:
                    receiver.release.wait(timeout=30)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(receiver.answer)))
                    self.end_headers()
                    self.wfile.write(receiver.answer)
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[dict]:
        return [item.event for item in self.received]


def serving() -> Iterator[Receiver]:
    """Body of the ``receiver`` fixture (each webhook test module declares one)."""
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serving()


SECRET = "whsec_test_0123456789abcdefghijklmnopqrstuv"
BODY = b'{"id":"evt_1","object":"event","type":"customer.created","data":{}}'


def _header(body: bytes = BODY, *, timestamp: int | None = None, secrets=(SECRET,)):
    return signing.signature_header(
        secrets=list(secrets),
        timestamp=int(time.time()) if timestamp is None else timestamp,
        body=body,
    )


def test_header_matches_the_sdk_generator():
    timestamp = 1_750_000_000
    expected = stripe.WebhookSignature.generate_signature_header(
        BODY.decode(), SECRET, timestamp=timestamp
    )
    assert _header(timestamp=timestamp) == expected


def test_sdk_verifies_a_signed_body():
    event = stripe.Webhook.construct_event(BODY, _header(), SECRET)
    assert event.type == "customer.created"


def test_non_ascii_bodies_are_signed_over_their_utf8_bytes():
    body = '{"id":"evt_2","object":"event","data":{"name":"Zoë Ω"}}'.encode()
    event = stripe.Webhook.construct_event(body, _header(body), SECRET)
    assert event.data.name == "Zoë Ω"


@pytest.mark.parametrize(
    ("body", "header_for", "secret"),
    [
        (BODY.replace(b"customer", b"invoice"), BODY, SECRET),  # tampered body
        (BODY, BODY, "whsec_someone_else"),  # wrong secret
    ],
    ids=["tampered body", "wrong secret"],
)
def test_tampering_fails_verification(body, header_for, secret):
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, _header(header_for), secret)


def test_an_old_timestamp_fails_verification():
    old = int(time.time()) - 301
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(BODY, _header(timestamp=old), SECRET)


def test_a_rolled_secret_signs_alongside_the_new_one_until_it_expires(now):
    from core.models import WebhookEndpoint

    endpoint = WebhookEndpoint(
        secret="whsec_new",
        previous_secret="whsec_old",
        previous_secret_expires_at=now + timedelta(hours=1),
    )
    during = _header(secrets=signing.signing_secrets(endpoint, now=now))
    assert during.count("v1=") == 2
    for secret in ("whsec_new", "whsec_old"):
        stripe.Webhook.construct_event(BODY, during, secret)
    after = _header(
        secrets=signing.signing_secrets(endpoint, now=now + timedelta(hours=1))
    )
    stripe.Webhook.construct_event(BODY, after, "whsec_new")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(BODY, after, "whsec_old")


def test_receiver_records_posts(receiver):
    import requests

    receiver.statuses = [500]
    first = requests.post(receiver.url, data=b"{}", timeout=5)
    second = requests.post(receiver.url, data=b'{"a": 1}', timeout=5)
    assert (first.status_code, second.status_code) == (500, 200)
    assert receiver.events() == [{}, {"a": 1}]


def endpoint_for(url: str, events=("*",), **params):
    """An enabled endpoint (through the service, like the API creates one)."""
    from core import clock
    from core.services.webhooks import webhook_endpoint_create

    return webhook_endpoint_create(
        params={"url": url, "enabled_events": list(events), **params}, now=clock.now()
    )


def verified(received: Received, secret: str):
    """The event as the SDK sees it, after verifying the signature."""
    return stripe.Webhook.construct_event(
        received.body, received.headers["Stripe-Signature"], secret
    )
