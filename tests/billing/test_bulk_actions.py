"""Bulk actions of the invoice list: finalize, send, void the selected invoices,
each in its own transaction, audited, for the Finance role only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from billing.models import Invoice
from billing.services.bulk_actions import invoices_bulk_action
from core import roles
from core.models import Event
from tests.core.factories import CustomerFactory, TestClockFactory

pytestmark = pytest.mark.django_db

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
LIST = "admin:billing_invoice_changelist"


def _client_in(django_user_model, role: str) -> Client:
    user = django_user_model.objects.create_user(
        username=role.split()[0].lower(), password="a long password", is_staff=True
    )
    user.groups.set([Group.objects.get(name=role)])
    client = Client()
    client.force_login(user)
    return client


def _draft(admin_client, name: str, amount: str = "100") -> Invoice:
    customer = CustomerFactory(
        name=name,
        email=f"{name.lower()}@example.com",
        test_clock=TestClockFactory(frozen_time=APR1),
    )
    admin_client.post(
        reverse("admin:billing_invoice_add"),
        {
            "customer": customer.pk,
            "currency": "usd",
            "collection_method": "send_invoice",
            "days_until_due": "30",
            "item_0": "Setup",
            "price_0": amount,
            "quantity_0": "1",
        },
    )
    return Invoice.objects.get(customer=customer)


def _act(client, action: str, invoices: list[Invoice]):
    return client.post(
        reverse(LIST),
        {"action": action, "_selected_action": [invoice.pk for invoice in invoices]},
        follow=True,
    )


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_finance_finalizes_the_selected_drafts_each_audited(
    admin_client, django_user_model
):
    drafts = [_draft(admin_client, "Ada"), _draft(admin_client, "Grace")]
    finance = _client_in(django_user_model, roles.FINANCE)
    response = _act(finance, "finalize_selected", drafts)
    assert response.status_code == 200
    assert "Finalized 2 invoices." in _messages(response)
    for draft in drafts:
        draft.refresh_from_db()
        assert draft.status == "open"
        assert draft.number
        assert Event.objects.filter(
            object_id=draft.pk, type="invoice.finalized", actor="user:finance"
        ).exists()


def test_one_refused_invoice_leaves_the_others_done(admin_client):
    draft, other = _draft(admin_client, "Ada"), _draft(admin_client, "Grace")
    _act(admin_client, "finalize_selected", [other])
    response = _act(admin_client, "void_selected", [draft, other])
    texts = _messages(response)
    assert "Voided 1 invoice." in texts
    assert any(text.startswith(f"{draft.pk}: not voided:") for text in texts)
    draft.refresh_from_db()
    other.refresh_from_db()
    assert (draft.status, other.status) == ("draft", "void")


def test_send_selected_open_invoices(admin_client, mailoutbox):
    invoice = _draft(admin_client, "Ada")
    _act(admin_client, "finalize_selected", [invoice])
    response = _act(admin_client, "send_selected", [invoice])
    assert "Sent 1 invoice." in _messages(response)
    assert Event.objects.filter(object_id=invoice.pk, actor="user:admin").exists()


@pytest.mark.parametrize(
    "action", ["finalize_selected", "send_selected", "void_selected"]
)
def test_read_only_support_is_refused_every_bulk_action(
    admin_client, django_user_model, action
):
    draft = _draft(admin_client, "Ada")
    support = _client_in(django_user_model, roles.SUPPORT)
    page = support.get(reverse(LIST))
    assert page.status_code == 200
    assert b"finalize_selected" not in page.content
    response = _act(support, action, [draft])
    assert "Finalized" not in " ".join(_messages(response))
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert not Event.objects.filter(object_id=draft.pk, actor="user:support").exists()


def test_the_service_reports_unknown_ids_and_works_in_id_order(admin_client):
    drafts = sorted(
        [_draft(admin_client, "Ada"), _draft(admin_client, "Grace")],
        key=lambda invoice: invoice.pk,
    )
    result = invoices_bulk_action(
        action="finalize", invoice_ids=[drafts[1].pk, "in_missing", drafts[0].pk]
    )
    assert result.done == [drafts[0].pk, drafts[1].pk]
    assert result.refused == [("in_missing", "No such invoice.")]
