"""Email notifications: the outbox, sending after commit, retries; the staff email."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction

from core import clock, notifications
from core.models import OutboundEmail, WebhookEndpoint

pytestmark = pytest.mark.django_db

TEMPLATE = "core/email/webhook_endpoint_disabled"


def context() -> dict:
    now = clock.now()
    return {
        "endpoint": WebhookEndpoint(
            id="we_1", url="https://erp.example.com/hooks", description="ERP"
        ),
        "failing_since": now - timedelta(days=3),
        "disabled_at": now,
        "last_error": "The endpoint answered HTTP 502.",
        "canceled": 2,
    }


@pytest.fixture
def broken_smtp(monkeypatch):
    """A mail server that refuses the next ``failures[0]`` messages."""
    failures = [1]
    send = mail.backends.locmem.EmailBackend.send_messages

    def flaky(self, messages):
        if failures[0]:
            failures[0] -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return send(self, messages)

    monkeypatch.setattr(mail.backends.locmem.EmailBackend, "send_messages", flaky)
    return failures


def send_in_transaction(django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            return notifications.send_email_on_commit(**kwargs)


def test_the_staff_email_renders_text_and_html():
    subject, text, html = notifications.render_email(TEMPLATE, context())
    assert subject == (
        "[Tally] Webhook endpoint disabled: https://erp.example.com/hooks"
    )
    assert "ERP" in text
    assert "2 pending deliveries were canceled" in text
    assert "HTTP 502" in html
    assert "<table" in html


def test_sent_after_commit_from_the_outbox(django_capture_on_commit_callbacks):
    email = send_in_transaction(
        django_capture_on_commit_callbacks,
        to=["ops@tally.example", "", "ops@tally.example"],
        template=TEMPLATE,
        context=context(),
    )
    (message,) = mail.outbox
    assert message.to == ["ops@tally.example"]
    assert message.alternatives[0][1] == "text/html"
    email.refresh_from_db()
    assert (email.status, email.attempt_count) == ("sent", 1)


def test_nothing_is_sent_when_the_transaction_rolls_back(
    django_capture_on_commit_callbacks,
):
    def send_then_fail():
        with transaction.atomic():
            notifications.send_email_on_commit(
                to=["ops@tally.example"], template=TEMPLATE, context=context()
            )
            raise RuntimeError("roll back")

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError):
            send_then_fail()
    assert mail.outbox == []
    assert not OutboundEmail.objects.exists()


def test_a_mail_server_outage_delays_the_message(
    django_capture_on_commit_callbacks, broken_smtp
):
    email = send_in_transaction(
        django_capture_on_commit_callbacks,
        to=["ops@tally.example"],
        template=TEMPLATE,
        context=context(),
    )
    email.refresh_from_db()
    assert mail.outbox == []
    assert email.status == "pending"
    assert "SMTPServerDisconnected" in email.last_error
    retry_at = email.next_attempt_at

    early = retry_at - timedelta(seconds=1)
    assert not notifications.outbound_email_send(email_id=email.pk, now=early)
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.outbound_emails_send_due(now=early) == 0
    assert notifications.outbound_email_send(email_id=email.pk, now=retry_at)
    email.refresh_from_db()
    assert (email.status, email.attempt_count, email.sent_at) == ("sent", 2, retry_at)
    assert len(mail.outbox) == 1


def test_gives_up_after_the_last_retry(django_capture_on_commit_callbacks, broken_smtp):
    broken_smtp[0] = 100
    email = send_in_transaction(
        django_capture_on_commit_callbacks,
        to=["ops@tally.example"],
        template=TEMPLATE,
        context=context(),
    )
    email.refresh_from_db()
    while email.status == "pending":
        notifications.outbound_email_send(email_id=email.pk, now=email.next_attempt_at)
        email.refresh_from_db()
    assert email.status == "failed"
    assert email.attempt_count == len(notifications.RETRY_DELAYS) + 1


def test_a_second_worker_does_not_send_it_twice(django_capture_on_commit_callbacks):
    with transaction.atomic():
        email = notifications.send_email_on_commit(
            to=["ops@tally.example"], template=TEMPLATE, context=context()
        )
    now = clock.now()
    # The Beat job queued it while the after-commit task was waiting to run.
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.outbound_emails_send_due(now=now) == 1
    assert not notifications.outbound_email_send(email_id=email.pk, now=now)
    assert len(mail.outbox) == 1


def test_send_now_reports_failure_instead_of_raising(broken_smtp):
    assert not notifications.send_email_now(
        to=["ops@tally.example"], template=TEMPLATE, context=context()
    )
    assert notifications.send_email_now(
        to=["ops@tally.example"], template=TEMPLATE, context=context()
    )
    assert not notifications.send_email_now(
        to=["", "x@example.com\nBcc: all@example.com"],
        template=TEMPLATE,
        context=context(),
    )


def test_no_recipients_no_email():
    assert (
        notifications.send_email_on_commit(to=[], template=TEMPLATE, context=context())
        is None
    )
    assert not OutboundEmail.objects.exists()


def test_every_email_has_a_subject_a_text_and_an_html_part():
    """Each ``templates/**/email/<name>_subject.txt`` comes with .txt and .html."""
    root = settings.BASE_DIR / "templates"
    subjects = sorted(root.glob("**/email/*_subject.txt"))
    names = {str(path.relative_to(root))[: -len("_subject.txt")] for path in subjects}
    assert {
        "core/email/webhook_endpoint_disabled",
        "billing/email/invoice",
        "credits/email/grant_expiring",
    } <= names
    for name in names:
        assert (root / f"{name}.txt").is_file(), f"{name}.txt is missing"
        assert (root / f"{name}.html").is_file(), f"{name}.html is missing"


def test_subjects_are_plain_text_not_html_escaped():
    endpoint = WebhookEndpoint(id="we_1", url="https://erp.example.com/h?a=1&b=<2>")
    subject, _, html = notifications.render_email(
        TEMPLATE, {**context(), "endpoint": endpoint}
    )
    assert subject.endswith("https://erp.example.com/h?a=1&b=<2>")
    assert "&amp;b=&lt;2&gt;" in html
