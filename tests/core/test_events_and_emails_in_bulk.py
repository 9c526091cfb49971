"""Batch jobs record events and queue emails in bulk, with the same guarantees."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction
from django.test import TestCase

from core import notifications, tasks
from core.models import Event, OutboundEmail, WebhookDelivery
from core.services import events as event_log
from core.services.events import event_build, events_record
from core.webhooks import registry
from tests.core.test_webhook_signing import endpoint_for, serving

pytestmark = pytest.mark.django_db

TEMPLATE = "core/email/webhook_endpoint_disabled"


@pytest.fixture
def receiver():
    yield from serving()


@pytest.fixture
def queued(monkeypatch):
    jobs: list[tuple] = []
    monkeypatch.setattr(
        tasks.webhook_delivery_send_task, "delay", lambda *args: jobs.append(args)
    )
    return jobs


def built(count: int) -> list[Event]:
    return [
        event_build(type="customer.created", data_object={"id": f"cus_{n}", "n": n})
        for n in range(count)
    ]


def test_events_recorded_together_keep_their_snapshots_and_order(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        recorded = events_record(events=built(3))
    assert [event.data["object"]["n"] for event in recorded] == [0, 1, 2]
    stored = Event.objects.in_bulk([event.id for event in recorded])
    for event in recorded:
        assert stored[event.id].data == event.data
        assert stored[event.id].type == "customer.created"


def test_hooks_run_after_commit_once_per_batch(monkeypatch):
    calls: list = []
    hook = calls.append
    monkeypatch.setattr(event_log, "_after_commit_hooks", [])
    monkeypatch.setattr(event_log, "_batch_hooks", {})
    event_log.on_event_recorded(hook, many=lambda ids: calls.append(tuple(ids)))

    with TestCase.captureOnCommitCallbacks(execute=True):
        batch = events_record(events=built(3))
        assert calls == []  # nothing before commit
    with TestCase.captureOnCommitCallbacks(execute=True):
        (single,) = events_record(events=built(1))

    assert calls == [tuple(event.id for event in batch), single.id]


def test_a_batch_without_listening_endpoints_costs_one_read(
    django_assert_num_queries,
):
    recorded = events_record(events=built(5))
    with django_assert_num_queries(1):
        registry.deliver_many_after_commit([event.id for event in recorded])
    assert not WebhookDelivery.objects.exists()


def test_a_batch_reaches_a_listening_endpoint_in_order(receiver, queued):
    endpoint = endpoint_for(receiver.url)
    with TestCase.captureOnCommitCallbacks(execute=True):
        recorded = events_record(events=built(3))
    while queued:
        with TestCase.captureOnCommitCallbacks(execute=True):
            tasks.webhook_delivery_send_task(*queued.pop(0))
    assert [event["id"] for event in receiver.events()] == [e.id for e in recorded]
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 3


def test_emails_queued_together_leave_after_commit_in_one_task(
    django_capture_on_commit_callbacks, monkeypatch, mailoutbox
):
    context = {"endpoint": {"url": "https://erp.example.com/hooks"}, "canceled": 0}
    emails = [
        notifications.Email(
            to=[f"ops{n}@example.com"], template=TEMPLATE, context=context
        )
        for n in range(3)
    ]
    emails.append(notifications.Email(to=[""], template=TEMPLATE, context=context))
    batches: list[list[int]] = []
    send_many = tasks.emails_send_task.delay
    monkeypatch.setattr(
        tasks.emails_send_task,
        "delay",
        lambda ids: (batches.append(ids), send_many(ids))[1],
    )

    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            rows = notifications.send_emails_on_commit(emails=emails)
            assert mail.outbox == []

    assert len(rows) == 3  # the blank address is dropped
    assert batches == [[row.pk for row in rows]]
    assert sorted(message.to[0] for message in mailoutbox) == [
        "ops0@example.com",
        "ops1@example.com",
        "ops2@example.com",
    ]
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {"sent"}


def test_emails_queued_together_vanish_with_a_rollback(
    django_capture_on_commit_callbacks, mailoutbox
):
    context = {"endpoint": {"url": "https://erp.example.com/hooks"}, "canceled": 0}
    email = notifications.Email(
        to=["ops@example.com"], template=TEMPLATE, context=context
    )

    def failing_job():
        with transaction.atomic():
            notifications.send_emails_on_commit(emails=[email, email])
            raise RuntimeError("job failed")

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError):
            failing_job()
    assert mailoutbox == []
    assert not OutboundEmail.objects.exists()
