"""Secrets never in logs: what the web process writes while keys, link tokens and
passwords pass through it holds none of them.

The lines are read from the console handler ``config.settings.LOGGING`` installs
(its formatter is the one production uses), and gunicorn's access lines from the
logger class ``config/gunicorn.conf.py`` names.
"""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import Client

from config.redaction import RedactingFormatter, gunicorn_logger_class, redact
from core import clock
from core.services import customers as customer_services
from core.services.api_keys import api_key_create
from core.services.portal import portal_session_create
from core.services.webhooks import webhook_endpoint_create
from tests.billing.factories import CustomerFactory
from tests.payments.factories import open_invoice

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def written():
    """What the configured console handler writes during the test."""
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler.formatter, RedactingFormatter)
    ]
    assert handlers, "LOGGING's console handler has no redacting formatter"
    stream = io.StringIO()
    saved = [handler.setStream(stream) for handler in handlers]
    yield stream
    for handler, previous in zip(handlers, saved, strict=True):
        handler.setStream(previous)


def test_keys_link_tokens_and_passwords_are_not_written(
    written, django_user_model, monkeypatch
):
    _, secret = api_key_create(name="logged")
    _, restricted = api_key_create(name="ro", permissions={"customers": "read"})
    customer = CustomerFactory(name="Jenny")
    link = portal_session_create(customer=customer, now=clock.now()).url
    link_token = link.rstrip("/").rsplit("/", 1)[1]
    invoice = open_invoice(customer)
    endpoint = webhook_endpoint_create(
        params={
            "url": "https://hooks:s3cr3t-in-url@hooks.example.com/tally",
            "enabled_events": ["*"],
        },
        now=clock.now(),
    )
    django_user_model.objects.create_user(
        username="staff", password=PASSWORD, is_staff=True
    )
    client = Client()

    # A 404 under the customer's link, and under a hosted invoice's.
    assert client.get(f"{link}invoices/in_missing/").status_code == 404
    hosted = f"/i/{invoice.hosted_token}/"
    assert client.get(hosted.replace(invoice.hosted_token[-6:], "AAAAAA")).status_code
    # A key refused by a route, a wrong key, and a failure that quotes the key.
    assert (
        client.post("/v1/customers", HTTP_AUTHORIZATION=f"Bearer {restricted}")
    ).status_code == 403
    assert client.get(
        "/v1/customers", HTTP_AUTHORIZATION=f"Bearer {secret}x"
    ).status_code in (401, 403)

    def fail(**kwargs):
        raise RuntimeError(
            f"key {secret} for {endpoint.secret} at {link} and {endpoint.url}"
        )

    monkeypatch.setattr(customer_services, "customer_create", fail)
    answer = client.post(
        "/v1/customers", {"name": "x"}, HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert answer.status_code == 500
    # A failed staff login, with the password in the form.
    client.post("/admin/login/", {"username": "staff", "password": PASSWORD + "!"})
    logging.getLogger("tally.test").warning(
        "Disabled webhook endpoint %s (%s)", endpoint.pk, endpoint.url
    )

    text = written.getvalue()
    assert "Not Found: /customer/cps_[redacted]/invoices/in_missing/" in text
    assert "Unhandled" in text  # the 500, with its traceback
    assert "https://[redacted]@hooks.example.com/tally" in text
    for leaked in (
        secret,
        secret[8:],
        restricted[8:],
        endpoint.secret,
        endpoint.secret[6:],
        link_token,
        link_token[4:],
        invoice.hosted_token,
        PASSWORD,
        "s3cr3t-in-url",
    ):
        assert leaked not in text


def test_gunicorn_access_lines_are_redacted():
    logger_class = gunicorn_logger_class()
    logger = logger_class.__new__(logger_class)
    logger.cfg = SimpleNamespace()
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/customer/cps_0123456789abcdefghijklmnopqrstuv/invoices/",
        "PATH_INFO": "/customer/cps_0123456789abcdefghijklmnopqrstuv/invoices/",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "QUERY_STRING": "",
        "HTTP_REFERER": "https://example.com/i/AbCdEfGhIjKlMnOpQrStUvWxYz0123/",
    }
    request = SimpleNamespace(
        headers=[("AUTHORIZATION", "Bearer sk_test_0123456789abcdef")]
    )
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=3))
    line = " ".join(str(value) for value in atoms.values())
    assert "cps_0123456789" not in line
    assert "AbCdEfGhIj" not in line
    assert "sk_test_0123456789" not in line
    assert atoms["U"] == "/customer/cps_[redacted]/invoices/"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bearer sk_live_51Habcdefgh", "Bearer sk_live_[redacted]"),
        (
            "rk_test_abcdefgh and mes_live_abcdefgh",
            "rk_test_[redacted] and mes_live_[redacted]",
        ),
        ("whsec_abcdefghij", "whsec_[redacted]"),
        ("postgres://tally:pw@db:5432/tally", "postgres://[redacted]@db:5432/tally"),
        ("/v1/customers/cus_0123456789abcdef", "/v1/customers/cus_0123456789abcdef"),
    ],
)
def test_redact_keeps_the_kind_and_leaves_ids(text, expected):
    assert redact(text) == expected
