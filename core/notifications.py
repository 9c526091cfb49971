"""Email notifications: a .txt + .html template pair per message.

``send_email_on_commit`` is the one to use from services: the message is rendered at
once, stored in the outbox (``OutboundEmail``) in the caller's transaction and sent
by a Celery task after commit, so a slow or dead mail server never holds up a
request or a job, and a message is never lost: a Beat job retries what failed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string

from core import clock
from core.models import OutboundEmail
from core.queue import enqueue

logger = logging.getLogger(__name__)

# Waits after the 1st, 2nd, ... failed send; then the message is given up on.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
# Longer than the send task's hard time limit: taken over only from a dead worker.
_LEASE = timedelta(minutes=10)
_DUE_BATCH = 500


def render_email(template: str, context: dict[str, Any]) -> tuple[str, str, str | None]:
    """Render ``<template>_subject.txt``, ``<template>.txt`` and ``<template>.html``."""
    subject = render_to_string(f"{template}_subject.txt", context).strip()
    text = render_to_string(f"{template}.txt", context)
    try:
        html = render_to_string(f"{template}.html", context)
    except TemplateDoesNotExist:
        html = None
    return " ".join(subject.split()), text, html


def _recipients(to: Sequence[str]) -> list[str]:
    """Drop blanks, duplicates and anything that could inject a header."""
    cleaned: list[str] = []
    for address in to:
        address = (address or "").strip()
        if not address or "\n" in address or "\r" in address:
            continue
        if address not in cleaned:
            cleaned.append(address)
    return cleaned


def _deliver(*, to: list[str], subject: str, text: str, html: str | None) -> str:
    """Hand one message to the mail backend; returns the error, or "" if sent."""
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, to)
    if html:
        message.attach_alternative(html, "text/html")
    try:
        message.send()
    except Exception as exc:  # any backend failure is reported, never raised
        logger.warning("Could not send %r to %s: %s", subject, to, exc)
        return f"{type(exc).__name__}: {exc}"[:500] or "send failed"
    return ""


def send_email_now(
    *, to: Sequence[str], template: str, context: dict[str, Any]
) -> bool:
    """Render and send one message now; returns False (and logs) on failure."""
    recipients = _recipients(to)
    if not recipients:
        return False
    subject, text, html = render_email(template, context)
    return not _deliver(to=recipients, subject=subject, text=text, html=html)


def send_email_on_commit(
    *, to: Sequence[str], template: str, context: dict[str, Any]
) -> OutboundEmail | None:
    """Queue a message with the current transaction; it is sent after commit.

    The template is rendered now, while the objects in ``context`` are current.
    Nothing is sent if the transaction rolls back.
    """
    email = _outbox_row(Email(to=to, template=template, context=context))
    if email is None:
        return None
    email.save(force_insert=True)
    transaction.on_commit(lambda: _enqueue(email.pk))
    return email


@dataclass(frozen=True)
class Email:
    """A message to queue: recipients, template pair, its context."""

    to: Sequence[str]
    template: str
    context: dict[str, Any]


def send_emails_on_commit(*, emails: Sequence[Email]) -> list[OutboundEmail]:
    """Queue many messages with the current transaction (batch jobs).

    Like ``send_email_on_commit``, but the outbox rows go in with one insert and,
    after commit, one task sends them all. Each message still takes its own
    lease, so a retry or the Beat job never sends one twice.
    """
    rows = [row for row in map(_outbox_row, emails) if row is not None]
    if not rows:
        return rows
    OutboundEmail.objects.bulk_create(rows)
    ids = [row.pk for row in rows]
    transaction.on_commit(lambda: _enqueue_many(ids))
    return rows


def _outbox_row(email: Email) -> OutboundEmail | None:
    """The rendered, unsaved outbox row of ``email``; None without a recipient."""
    recipients = _recipients(email.to)
    if not recipients:
        return None
    subject, text, html = render_email(email.template, email.context)
    return OutboundEmail(
        template=email.template,
        to=recipients,
        subject=subject[:998],
        text=text,
        html=html or "",
        next_attempt_at=clock.now(),
    )


def _enqueue(email_id: int) -> None:
    try:
        enqueue("email_send", email_id)
    except Exception:  # broker down: the Beat job sends it later
        logger.exception("Could not queue email %s; it will be retried", email_id)


def _enqueue_many(email_ids: list[int]) -> None:
    try:
        enqueue("emails_send", email_ids)
    except Exception:  # broker down: the Beat job sends them later
        logger.exception(
            "Could not queue %s emails; they will be retried", len(email_ids)
        )


def outbound_email_send(*, email_id: int, now: datetime) -> bool:
    """Send a queued message if it is due and no other worker holds it."""
    taken = OutboundEmail.objects.filter(
        Q(leased_until__isnull=True) | Q(leased_until__lte=now),
        pk=email_id,
        status=OutboundEmail.Status.PENDING,
        next_attempt_at__lte=now,
    ).update(leased_until=now + _LEASE)
    if not taken:
        return False
    email = OutboundEmail.objects.get(pk=email_id)
    error = _deliver(
        to=list(email.to), subject=email.subject, text=email.text, html=email.html
    )
    email.attempt_count += 1
    email.leased_until = None
    email.last_error = error
    if not error:
        email.status = OutboundEmail.Status.SENT
        email.sent_at, email.next_attempt_at = now, None
    elif email.attempt_count > len(RETRY_DELAYS):
        email.status = OutboundEmail.Status.FAILED
        email.next_attempt_at = None
        logger.error(
            "Gave up sending email %s (%r): %s", email.pk, email.subject, error
        )
    else:
        email.next_attempt_at = now + RETRY_DELAYS[email.attempt_count - 1]
    email.save(
        update_fields=[
            "attempt_count",
            "leased_until",
            "last_error",
            "status",
            "sent_at",
            "next_attempt_at",
        ]
    )
    return not error


def outbound_emails_send(*, email_ids: Sequence[int], now: datetime) -> int:
    """Send queued messages one after the other; returns how many were sent.

    What is left unsent (a failure, or the task's time running out) stays in the
    outbox for the Beat job.
    """
    return sum(
        outbound_email_send(email_id=email_id, now=now) for email_id in email_ids
    )


def outbound_emails_send_due(*, now: datetime) -> int:
    """Queue every message whose (re)send is due, oldest first (Beat)."""
    due = (
        OutboundEmail.objects.filter(
            Q(leased_until__isnull=True) | Q(leased_until__lte=now),
            status=OutboundEmail.Status.PENDING,
            next_attempt_at__lte=now,
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    ids = list(due[:_DUE_BATCH])
    for email_id in ids:
        _enqueue(email_id)
    return len(ids)


def staff_recipients() -> list[str]:
    """Addresses for operational mail (``STAFF_NOTIFICATION_EMAILS``)."""
    return list(settings.STAFF_NOTIFICATION_EMAILS)
