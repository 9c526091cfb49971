"""``/v1/credit_notes`` over HTTP: shapes, lists and filters, Stripe's errors."""

from __future__ import annotations

import pytest

from billing.models import CreditNote
from billing.services import invoice_create, invoice_item_create
from tests.billing.credit_note_fixtures import (
    APR1,
    licensed_invoice,
    line_of,
    per_unit,
)
from tests.billing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _line(line, **credit) -> dict:
    return {"type": "invoice_line_item", "invoice_line_item": line.pk, **credit}


def test_create_retrieve_lines_list(api):
    invoice = licensed_invoice(per_unit(), 3)
    other = licensed_invoice(per_unit(), 1)
    line = line_of(invoice)
    body = api.post(
        "/v1/credit_notes",
        {"invoice": invoice.pk, "lines": [_line(line, quantity=2)], "memo": "Two"},
    ).json()
    assert body["object"] == "credit_note"
    for key, value in {
        "amount": 2000,
        "subtotal": 2000,
        "total": 2000,
        "discount_amount": 0,
        "pre_payment_amount": 2000,
        "post_payment_amount": 0,
        "type": "pre_payment",
        "status": "issued",
        "currency": "usd",
        "customer": invoice.customer_id,
        "invoice": invoice.pk,
        "memo": "Two",
        "voided_at": None,
        "out_of_band_amount": None,
        "customer_balance_transaction": None,
    }.items():
        assert body[key] == value, key
    assert body["number"] == f"{invoice.number}-CN-01"
    token = CreditNote.objects.get(pk=body["id"]).hosted_token
    assert body["pdf"] == f"http://testserver/i/cn/{token}/pdf"
    (credited,) = body["lines"]["data"]
    assert (credited["object"], credited["quantity"], credited["amount"]) == (
        "credit_note_line_item",
        2,
        2000,
    )
    assert (credited["unit_amount"], credited["unit_amount_decimal"]) == (1000, "1000")
    assert api.get(f"/v1/credit_notes/{body['id']}").json()["id"] == body["id"]
    lines = api.get(f"/v1/credit_notes/{body['id']}/lines").json()
    assert [row["id"] for row in lines["data"]] == [credited["id"]]
    api.post("/v1/credit_notes", {"invoice": other.pk, "amount": 100})
    listed = api.get("/v1/credit_notes", {"invoice": invoice.pk}).json()
    assert [row["id"] for row in listed["data"]] == [body["id"]]
    by_customer = api.get("/v1/credit_notes", {"customer": other.customer_id}).json()
    assert len(by_customer["data"]) == 1
    assert len(api.get("/v1/credit_notes").json()["data"]) == 2
    shown = api.get(f"/v1/invoices/{invoice.pk}").json()
    assert (shown["amount_due"], shown["pre_payment_credit_notes_amount"]) == (
        1000,
        2000,
    )
    expanded = api.get(
        f"/v1/credit_notes/{body['id']}", {"expand": ["invoice", "customer"]}
    ).json()
    assert expanded["invoice"]["id"] == invoice.pk
    assert expanded["customer"]["id"] == invoice.customer_id


def test_preview_and_preview_lines_write_nothing(api):
    invoice = licensed_invoice(per_unit(), 3)
    params = {"invoice": invoice.pk, "lines": [_line(line_of(invoice), amount=450)]}
    preview = api.get("/v1/credit_notes/preview", params).json()
    assert (preview["amount"], preview["lines"]["url"]) == (
        450,
        "/v1/credit_notes/preview/lines",
    )
    lines = api.get("/v1/credit_notes/preview/lines", params).json()
    assert [row["amount"] for row in lines["data"]] == [450]
    assert not CreditNote.objects.exists()


@pytest.mark.parametrize(
    ("params", "status", "param"),
    [
        ({"amount": 100}, 400, "invoice"),
        ({"invoice": "in_nope", "amount": 100}, 404, "invoice"),
        ({"amount": 5000}, 400, "amount"),
        ({"amount": 100, "reason": "because"}, 400, "reason"),
        ({"amount": -1}, 400, "amount"),
        ({"lines": [{"type": "nope"}]}, 400, "lines[0][type]"),
        ({"amount": 100, "credit_amount": 100}, 400, "credit_amount"),
    ],
)
def test_errors(api, params, status, param):
    invoice = licensed_invoice(per_unit(), 3)
    if "invoice" not in params and param != "invoice":
        params = {"invoice": invoice.pk, **params}
    response = api.post("/v1/credit_notes", params)
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    assert not CreditNote.objects.exists()


def test_update_and_void(api):
    invoice = licensed_invoice(per_unit(), 3)
    note = api.post("/v1/credit_notes", {"invoice": invoice.pk, "amount": 500}).json()
    updated = api.post(
        f"/v1/credit_notes/{note['id']}", {"memo": "Fixed", "metadata": {"a": "1"}}
    ).json()
    assert (updated["memo"], updated["metadata"]) == ("Fixed", {"a": "1"})
    refused = api.post(f"/v1/credit_notes/{note['id']}", {"amount": 1})
    assert refused.status_code == 400
    voided = api.post(f"/v1/credit_notes/{note['id']}/void").json()
    assert voided["status"] == "void"
    assert voided["voided_at"] is not None
    again = api.post(f"/v1/credit_notes/{note['id']}/void")
    assert again.status_code == 400
    assert api.get(f"/v1/invoices/{invoice.pk}").json()["amount_due"] == 3000
    events = api.get("/v1/events", {"limit": 100}).json()["data"]
    types = {row["type"] for row in events}
    assert {"credit_note.created", "credit_note.updated", "credit_note.voided"} <= types


@pytest.mark.parametrize("route", ["/v1/credit_notes", "/v1/credit_notes/preview"])
def test_a_draft_invoice_takes_no_credit_note(api, route):
    customer = CustomerFactory()
    draft = invoice_create(customer=customer, params={"currency": "usd"}, now=APR1)
    invoice_item_create(
        customer=customer,
        params={"invoice": draft.pk, "amount": 5000, "currency": "usd"},
        now=APR1,
    )
    call = api.post if route == "/v1/credit_notes" else api.get
    response = call(route, {"invoice": draft.pk, "amount": 100})
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", "invoice")
    assert not CreditNote.objects.exists()
    draft.refresh_from_db()
    assert (draft.status, draft.pre_payment_credit_notes_amount) == ("draft", 0)
