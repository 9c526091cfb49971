"""The audit log (``core.audit``): every change with its actor, from the dashboard,
the API and jobs; a History panel on object pages; a list that cannot be edited."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from core import roles
from core.models import ApiKey, AuditEntry, Event
from core.services import test_clocks
from tests.core.factories import CustomerFactory, TestClockFactory

pytestmark = pytest.mark.django_db

AUDIT_LIST = "admin:core_auditentry_changelist"


def _actors(object_id: str) -> list[tuple[str, str]]:
    return list(
        Event.objects.filter(object_id=object_id)
        .order_by("created", "id")
        .values_list("type", "actor")
    )


def test_api_writes_name_the_api_key(api):
    key = ApiKey.objects.get()
    customer = api.post("/v1/customers", {"name": "Ada"}).json()
    api.post(f"/v1/customers/{customer['id']}", {"name": "Ada L."})
    assert _actors(customer["id"]) == [
        ("customer.created", f"api_key:{key.pk}"),
        ("customer.updated", f"api_key:{key.pk}"),
    ]


def test_the_api_event_does_not_show_the_actor(api):
    customer = api.post("/v1/customers", {"name": "Ada"}).json()
    event = Event.objects.get(object_id=customer["id"])
    body = api.get(f"/v1/events/{event.pk}").json()
    assert "actor" not in body
    assert body["type"] == "customer.created"


def test_dashboard_writes_name_the_staff_user(admin_client):
    response = admin_client.post(
        reverse("admin:core_customer_add"), {"name": "Grace", "email": "g@example.com"}
    )
    assert response.status_code == 302
    event = Event.objects.get(type="customer.created")
    assert event.actor == "user:admin"


def test_jobs_name_themselves(django_capture_on_commit_callbacks):
    test_clock = TestClockFactory(frozen_time=datetime(2026, 4, 1, tzinfo=UTC))
    with django_capture_on_commit_callbacks(execute=True):
        test_clocks.test_clock_advance(
            test_clock=test_clock, frozen_time=datetime(2026, 4, 2, tzinfo=UTC)
        )
    ready = Event.objects.get(type="test_helpers.test_clock.ready")
    assert ready.actor.startswith("job:")
    assert "test_clock" in ready.actor


def test_the_object_page_shows_its_history(admin_client, api):
    key = ApiKey.objects.get()
    customer = api.post("/v1/customers", {"name": "Ada"}).json()
    admin_client.post(
        reverse("admin:core_customer_change", args=[quote(customer["id"])]),
        {"name": "Ada Lovelace", "email": "ada@example.com"},
    )
    page = admin_client.get(
        reverse("admin:core_customer_change", args=[quote(customer["id"])])
    ).content.decode()
    assert "History" in page
    assert f"API key {key.pk}" in page
    assert 'data-actor="user:admin"' in page
    assert "customer.updated" in page
    assert "email, name" in page


def test_the_test_clock_page_shows_its_history(admin_client):
    test_clock = TestClockFactory()
    Event.objects.create(
        type="test_helpers.test_clock.created",
        api_version="x",
        data={"object": {"id": test_clock.pk}},
        object_id=test_clock.pk,
        actor="user:ana",
    )
    page = admin_client.get(
        reverse("admin:core_testclock_change", args=[test_clock.pk])
    ).content.decode()
    assert 'data-actor="user:ana"' in page


def test_the_audit_log_is_searchable_by_object_and_actor(admin_client, api):
    first = api.post("/v1/customers", {"name": "Ada"}).json()
    second = api.post("/v1/customers", {"name": "Bob"}).json()
    page = admin_client.get(reverse(AUDIT_LIST), {"q": first["id"]}).content.decode()
    assert first["id"] in page
    assert second["id"] not in page
    by_kind = admin_client.get(reverse(AUDIT_LIST), {"actor_kind": "user"})
    assert first["id"] not in by_kind.content.decode()
    by_key = admin_client.get(reverse(AUDIT_LIST), {"actor_kind": "api_key"})
    assert second["id"] in by_key.content.decode()


def test_the_audit_log_cannot_be_edited(admin_client):
    customer = CustomerFactory()
    entry = AuditEntry.objects.create(
        type="customer.created",
        api_version="x",
        data={"object": {"id": customer.pk, "object": "customer"}},
        object_id=customer.pk,
        actor="user:ana",
    )
    change = reverse("admin:core_auditentry_change", args=[entry.pk])
    page = admin_client.get(change)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert admin_client.post(change, {"actor": "user:eve"}).status_code == 403
    delete = reverse("admin:core_auditentry_delete", args=[entry.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse("admin:core_auditentry_add")).status_code == 403
    entry.refresh_from_db()
    assert entry.actor == "user:ana"
    link = reverse("admin:core_customer_change", args=[customer.pk])
    assert link in page.content.decode()


def test_read_only_support_reads_the_audit_log(django_user_model, api):
    api.post("/v1/customers", {"name": "Ada"})
    user = django_user_model.objects.create_user("sam", password="pw", is_staff=True)
    user.groups.set([Group.objects.get(name=roles.SUPPORT)])
    client = Client()
    client.force_login(user)
    assert client.get(reverse(AUDIT_LIST)).status_code == 200
