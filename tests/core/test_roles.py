"""Staff roles (``core.roles``): read-only support, finance and admin groups."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from billing.models import Invoice
from core import roles
from core.models import ApiKey, Customer, Event, TestClock
from credits.models import CreditGrant
from tests.core.factories import CustomerFactory, TestClockFactory

pytestmark = pytest.mark.django_db

APR1 = datetime(2026, 4, 1, tzinfo=UTC)


def _client_in(django_user_model, role: str) -> Client:
    user = django_user_model.objects.create_user(
        username=role.split()[0].lower(), password="a long password", is_staff=True
    )
    user.groups.set([Group.objects.get(name=role)])
    client = Client()
    client.force_login(user)
    return client


def _perms(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


@pytest.fixture
def customer():
    return CustomerFactory(
        name="Northwind", test_clock=TestClockFactory(frozen_time=APR1)
    )


@pytest.fixture
def draft_invoice(admin_client, customer) -> Invoice:
    admin_client.post(
        reverse("admin:billing_invoice_add"),
        {
            "customer": customer.pk,
            "currency": "usd",
            "collection_method": "send_invoice",
            "days_until_due": "30",
            "item_0": "Setup",
            "price_0": "100",
            "quantity_0": "1",
        },
    )
    return Invoice.objects.get(customer=customer)


@pytest.fixture
def open_invoice(admin_client, draft_invoice) -> Invoice:
    url = reverse(
        "admin:billing_invoice_action", args=[quote(draft_invoice.pk), "finalize"]
    )
    admin_client.post(url)
    draft_invoice.refresh_from_db()
    assert draft_invoice.status == "open"
    return draft_invoice


@pytest.mark.parametrize(
    ("app_label", "model", "action", "expected"),
    [
        ("billing", "invoice", "view", {roles.SUPPORT, roles.FINANCE, roles.ADMIN}),
        ("billing", "invoice", "change", {roles.FINANCE, roles.ADMIN}),
        ("credits", "creditgrant", "add", {roles.FINANCE, roles.ADMIN}),
        ("payments", "payment", "change", {roles.FINANCE, roles.ADMIN}),
        ("core", "testclock", "change", {roles.FINANCE, roles.ADMIN}),
        ("core", "customer", "add", {roles.FINANCE, roles.ADMIN}),
        ("core", "apikey", "add", {roles.ADMIN}),
        ("core", "webhookendpoint", "change", {roles.ADMIN}),
        ("catalog", "price", "add", {roles.ADMIN}),
        ("metering", "meter", "change", {roles.ADMIN}),
        ("django_celery_beat", "periodictask", "view", {roles.ADMIN}),
        ("auth", "user", "view", {roles.ADMIN}),
        ("axes", "accessattempt", "view", {roles.ADMIN}),
    ],
)
def test_role_grants_follow_the_app_and_model(app_label, model, action, expected):
    assert roles.role_grants(app_label=app_label, model=model, action=action) == (
        expected
    )


def test_the_migration_and_the_hook_give_each_group_its_permissions():
    support, finance, admin = (_perms(role) for role in roles.ROLES)
    assert {"billing.view_invoice", "core.view_apikey"} <= support
    assert not any(perm.split(".")[1].startswith(("add", "change")) for perm in support)
    assert {"billing.change_invoice", "credits.add_creditgrant"} <= finance
    assert {"core.change_testclock", "core.add_customer"} <= finance
    assert not {"core.add_apikey", "catalog.change_product"} & finance
    assert not {"django_celery_beat.view_periodictask", "auth.view_user"} & finance
    assert {"core.add_apikey", "auth.change_user", "catalog.add_price"} <= admin


def test_a_model_added_later_joins_its_roles_at_the_next_migrate():
    content_type = ContentType.objects.create(
        app_label="billing", model="modeladdedlater"
    )
    Permission.objects.create(
        content_type=content_type, codename="change_modeladdedlater", name="Can change"
    )
    roles.roles_sync_after_migrate(sender=list(apps.get_app_configs())[-1])
    assert "billing.change_modeladdedlater" in _perms(roles.FINANCE)
    assert "billing.change_modeladdedlater" not in _perms(roles.SUPPORT)


def test_read_only_support_sees_the_invoice_without_buttons(
    django_user_model, draft_invoice
):
    client = _client_in(django_user_model, roles.SUPPORT)
    url = reverse("admin:billing_invoice_change", args=[quote(draft_invoice.pk)])
    page = client.get(url)
    assert page.status_code == 200
    assert "Finalize invoice" not in page.content.decode()
    assert "Delete draft" not in page.content.decode()
    invoices = client.get(reverse("admin:billing_invoice_changelist")).content
    assert b"Add invoice" not in invoices


@pytest.mark.parametrize("action", ["finalize", "delete"])
def test_read_only_support_cannot_finalize_or_delete_a_draft(
    django_user_model, draft_invoice, action
):
    client = _client_in(django_user_model, roles.SUPPORT)
    url = reverse(
        "admin:billing_invoice_action", args=[quote(draft_invoice.pk), action]
    )
    assert client.post(url).status_code == 403
    draft_invoice.refresh_from_db()
    assert draft_invoice.status == "draft"


@pytest.mark.parametrize("action", ["void", "pay", "uncollectible", "send"])
def test_read_only_support_cannot_void_or_mark_paid(
    django_user_model, open_invoice, action
):
    client = _client_in(django_user_model, roles.SUPPORT)
    url = reverse("admin:billing_invoice_action", args=[quote(open_invoice.pk), action])
    assert client.post(url).status_code == 403
    open_invoice.refresh_from_db()
    assert open_invoice.status == "open"


def test_read_only_support_cannot_grant_credits(django_user_model, customer):
    client = _client_in(django_user_model, roles.SUPPORT)
    url = reverse("admin:credits_creditgrant_add")
    assert client.get(url).status_code == 403
    response = client.post(
        url,
        {
            "customer": customer.pk,
            "name": "Free",
            "amount": "100",
            "currency": "usd",
            "expiry": "never",
            "category": "promotional",
            "priority": "50",
            "scope": "metered",
        },
    )
    assert response.status_code == 403
    assert not CreditGrant.objects.exists()


def test_read_only_support_cannot_edit_a_customer(django_user_model, customer):
    client = _client_in(django_user_model, roles.SUPPORT)
    url = reverse("admin:core_customer_change", args=[quote(customer.pk)])
    page = client.get(url)
    assert page.status_code == 200
    assert b"Open customer page" not in page.content
    assert b'name="_save"' not in page.content
    response = client.post(url, {"name": "Renamed", "email": "x@example.com"})
    assert response.status_code == 403
    assert Customer.objects.get(pk=customer.pk).name == "Northwind"
    link = reverse("admin:core_customer_page", args=[customer.pk])
    assert client.post(link).status_code == 403


def test_read_only_support_cannot_create_an_api_key(django_user_model):
    client = _client_in(django_user_model, roles.SUPPORT)
    url = reverse("admin:core_apikey_add")
    assert client.get(url).status_code == 403
    assert client.post(url, {"name": "mine", "livemode": ""}).status_code == 403
    assert not ApiKey.objects.exists()


def test_finance_cannot_create_an_api_key_nor_change_the_catalog(django_user_model):
    client = _client_in(django_user_model, roles.FINANCE)
    assert client.post(reverse("admin:core_apikey_add"), {"name": "x"}).status_code == (
        403
    )
    assert client.get(reverse("admin:catalog_product_add")).status_code == 403


def test_read_only_support_cannot_advance_a_test_clock(django_user_model, customer):
    client = _client_in(django_user_model, roles.SUPPORT)
    test_clock = customer.test_clock
    url = reverse("admin:core_testclock_advance", args=[test_clock.pk])
    assert client.post(url, {"frozen_time": "2026-05-01 00:00"}).status_code == 403
    assert TestClock.objects.get(pk=test_clock.pk).frozen_time == APR1


def test_finance_finalizes_and_voids(django_user_model, draft_invoice):
    client = _client_in(django_user_model, roles.FINANCE)
    action = "admin:billing_invoice_action"
    page = client.get(reverse("admin:billing_invoice_change", args=[draft_invoice.pk]))
    assert "Finalize invoice" in page.content.decode()
    for step in ("finalize", "void"):
        response = client.post(reverse(action, args=[quote(draft_invoice.pk), step]))
        assert response.status_code == 302
    draft_invoice.refresh_from_db()
    assert draft_invoice.status == "void"
    actors = Event.objects.filter(object_id=draft_invoice.pk, type="invoice.voided")
    assert list(actors.values_list("actor", flat=True)) == ["user:finance"]


@pytest.mark.parametrize("role", [roles.SUPPORT, roles.FINANCE])
def test_internals_leave_the_sidebar_of_support_and_finance(django_user_model, role):
    html = _client_in(django_user_model, role).get(reverse("admin:index")).content
    for internal in (b"Periodic tasks", b"Groups", b"Access attempts"):
        assert internal not in html
    assert b"Invoices" in html


def test_admin_role_sees_the_internals_and_the_api_keys(django_user_model):
    html = _client_in(django_user_model, roles.ADMIN).get(reverse("admin:index"))
    for section in (b"Periodic tasks", b"Groups", b"API keys"):
        assert section in html.content


def test_ensure_staff_user_puts_a_user_in_a_role(django_user_model):
    out = StringIO()
    call_command(
        "ensure_staff_user", "--username", "ana", "--role", "finance", stdout=out
    )
    assert "(Finance)" in out.getvalue()
    user = django_user_model.objects.get(username="ana")
    assert user.is_staff
    assert not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == [roles.FINANCE]
