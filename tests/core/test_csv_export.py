"""CSV export of filtered dashboard lists: streamed, read by keyset, in the
dashboard's mode, never for API keys."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import NoReverseMatch, reverse

from core import admin_export
from core.models import Customer
from tests.core.factories import CustomerFactory

pytestmark = pytest.mark.django_db

EXPORT = "admin:core_customer_export"


def _rows(response) -> list[dict]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_list_links_to_its_export_with_its_filters(admin_client):
    page = admin_client.get(
        reverse("admin:billing_invoice_changelist"), {"status__exact": "draft"}
    )
    assert b'href="export.csv?status__exact=draft"' in page.content


def test_export_streams_every_row_by_keyset_in_few_queries(
    admin_client, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(admin_export, "CSV_CHUNK", 2)
    customers = [CustomerFactory(name=f"C{index}") for index in range(5)]
    with django_assert_max_num_queries(10):
        rows = _rows(admin_client.get(reverse(EXPORT)))
    assert sorted(row["id"] for row in rows) == sorted(c.pk for c in customers)
    assert [row["id"] for row in rows] == sorted(row["id"] for row in rows)
    assert {"id", "name", "email", "test_clock_id", "created"} <= set(rows[0])


def test_export_keeps_the_search_and_filters(admin_client):
    CustomerFactory(name="Ada", email="ada@example.com")
    CustomerFactory(name="Bob", email="bob@example.com")
    rows = _rows(admin_client.get(reverse(EXPORT), {"q": "ada@example.com"}))
    assert [row["name"] for row in rows] == ["Ada"]


def test_export_shows_only_the_dashboards_mode(admin_client):
    CustomerFactory(name="Test one")
    Customer.objects.create(name="Live one", livemode=True)
    names = [row["name"] for row in _rows(admin_client.get(reverse(EXPORT)))]
    assert names == ["Test one"]


def test_export_of_an_invoice_list(admin_client):
    rows = _rows(admin_client.get(reverse("admin:billing_invoice_export")))
    assert rows == []


def test_api_keys_have_no_export():
    with pytest.raises(NoReverseMatch):
        reverse("admin:core_apikey_export")


def test_export_needs_the_view_permission(client, django_user_model):
    user = django_user_model.objects.create_user("x", password="pw", is_staff=True)
    client.force_login(user)
    assert client.get(reverse(EXPORT)).status_code == 403


def test_the_server_and_python_write_the_same_cells(admin_client, monkeypatch):
    from datetime import UTC, datetime

    CustomerFactory(name='Ada, "the first"', email=None, metadata={"tier": ["a", 2]})
    Customer.objects.update(created=datetime(2026, 11, 1, 9, 30, 0, 250, tzinfo=UTC))
    by_server = _rows(admin_client.get(reverse(EXPORT)))
    monkeypatch.setattr(admin_export, "server_writes_csv", lambda queryset: False)
    by_python = _rows(admin_client.get(reverse(EXPORT)))
    assert by_server == by_python
    row = by_server[0]
    assert row["name"] == 'Ada, "the first"'
    assert row["created"] == "2026-11-01T09:30:00.00025+00:00"
    assert row["deleted"] == "False"
    assert row["metadata"] == '{"tier": ["a", 2]}'
    assert row["email"] == ""
