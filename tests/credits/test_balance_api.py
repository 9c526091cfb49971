"""The credit ledger over the API: balance transactions and the balance summary."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from credits.services import credits_apply_to_invoice
from tests.credits.factories import (
    T0,
    PriceFactory,
    grant_params,
    line,
    unix,
)
from tests.helpers import error_of

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
GRANTS = "/v1/billing/credit_grants"
TRANSACTIONS = "/v1/billing/credit_balance_transactions"
SUMMARY = "/v1/billing/credit_balance_summary"


def test_transactions_list_retrieve_and_shapes(api, customer):
    grant = api.post(GRANTS, grant_params(customer)).json()
    other = api.post(GRANTS, grant_params(customer, priority=90)).json()
    applied = credits_apply_to_invoice(
        customer_id=customer.pk,
        invoice_id="in_1",
        lines=[line("il_1", 300)],
        now=T0,
    )
    listed = api.get(TRANSACTIONS, {"customer": customer.pk}).json()
    assert len(listed["data"]) == 3
    by_grant = api.get(
        TRANSACTIONS, {"customer": customer.pk, "credit_grant": grant["id"]}
    ).json()["data"]
    assert [t["type"] for t in by_grant] == ["debit", "credit"]
    debit, credit = by_grant
    assert debit == {
        "id": applied[0].credit_balance_transaction_id,
        "object": "billing.credit_balance_transaction",
        "created": unix(T0),
        "credit": None,
        "credit_grant": grant["id"],
        "debit": {
            "amount": {
                "monetary": {"currency": "usd", "value": 300},
                "type": "monetary",
            },
            "credits_applied": {"invoice": "in_1", "invoice_line_item": "il_1"},
            "type": "credits_applied",
        },
        "effective_at": unix(T0),
        "livemode": False,
        "test_clock": None,
        "type": "debit",
    }
    assert credit["credit"] == {
        "amount": {"monetary": {"currency": "usd", "value": 1000}, "type": "monetary"},
        "credits_application_invoice_voided": None,
        "type": "credits_granted",
    }
    assert credit["debit"] is None
    fetched = api.get(f"{TRANSACTIONS}/{debit['id']}").json()
    assert fetched == debit
    expanded = api.get(
        f"{TRANSACTIONS}/{debit['id']}", {"expand": ["credit_grant"]}
    ).json()
    assert expanded["credit_grant"]["id"] == grant["id"]
    assert other["id"] not in {t["credit_grant"] for t in by_grant}

    error = error_of(api.get(TRANSACTIONS))
    assert (error["param"], error["code"]) == ("customer", "parameter_missing")
    error = error_of(
        api.get(TRANSACTIONS, {"customer": customer.pk, "credit_grant": "credgr_x"})
    )
    assert error["param"] == "credit_grant"
    response = api.get(f"{TRANSACTIONS}/cbtxn_missing")
    assert response.status_code == 404


def test_reinstatement_shape(api, customer):
    api.post(GRANTS, grant_params(customer))
    credits_apply_to_invoice(
        customer_id=customer.pk, invoice_id="in_1", lines=[line("il_1", 300)], now=T0
    )
    from credits.services import credits_reinstate_for_invoice

    (reinstated,) = credits_reinstate_for_invoice(invoice_id="in_1", now=T0 + DAY)
    body = api.get(f"{TRANSACTIONS}/{reinstated.credit_balance_transaction_id}").json()
    assert body["type"] == "credit"
    assert body["credit"] == {
        "amount": {"monetary": {"currency": "usd", "value": 300}, "type": "monetary"},
        "credits_application_invoice_voided": {
            "invoice": "in_1",
            "invoice_line_item": "il_1",
        },
        "type": "credits_application_invoice_voided",
    }


def _summary(api, customer, **filter_params):
    response = api.get(SUMMARY, {"customer": customer.pk, "filter": filter_params})
    assert response.status_code == 200, response.content
    body = response.json()
    return [
        (
            b["available_balance"]["monetary"]["currency"],
            b["available_balance"]["monetary"]["value"],
            b["ledger_balance"]["monetary"]["value"],
        )
        for b in body["balances"]
    ]


def test_balance_summary_and_filters(api, customer):
    input_price, output_price, licensed = (
        PriceFactory(),
        PriceFactory(),
        PriceFactory(licensed=True),
    )
    everything = api.post(GRANTS, grant_params(customer)).json()
    scoped = api.post(
        GRANTS,
        grant_params(
            customer,
            amount={"type": "monetary", "monetary": {"currency": "usd", "value": 500}},
            applicability_config={"scope": {"prices": [{"id": input_price.pk}]}},
            expires_at=unix(T0 + DAY),
        ),
    ).json()
    api.post(
        GRANTS,
        grant_params(
            customer,
            amount={"type": "monetary", "monetary": {"currency": "eur", "value": 200}},
        ),
    )
    api.post(GRANTS, grant_params(customer, effective_at=unix(T0 + 5 * DAY)))
    metered = {
        "type": "applicability_scope",
        "applicability_scope": {"price_type": "metered"},
    }
    assert _summary(api, customer, **metered) == [
        ("eur", 200, 200),
        ("usd", 1500, 1500),
    ]
    body = api.get(SUMMARY, {"customer": customer.pk, "filter": metered}).json()
    assert (body["object"], body["customer"], body["livemode"]) == (
        "billing.credit_balance_summary",
        customer.pk,
        False,
    )
    assert body["customer_account"] is None

    def by_prices(*prices):
        return {
            "type": "applicability_scope",
            "applicability_scope": {"prices": [{"id": p.pk} for p in prices]},
        }

    assert _summary(api, customer, **by_prices(input_price)) == [
        ("eur", 200, 200),
        ("usd", 1500, 1500),
    ]
    assert _summary(api, customer, **by_prices(output_price)) == [
        ("eur", 200, 200),
        ("usd", 1000, 1000),
    ]
    assert _summary(api, customer, **by_prices(licensed)) == []
    assert _summary(api, customer, type="credit_grant", credit_grant=scoped["id"]) == [
        ("usd", 500, 500)
    ]
    # After expires_at and before the expiry job: available drops, ledger not yet.
    with time_machine.travel(T0 + 2 * DAY, tick=False):
        assert _summary(
            api, customer, type="credit_grant", credit_grant=scoped["id"]
        ) == [("usd", 0, 500)]
    expanded = api.get(
        SUMMARY,
        {"customer": customer.pk, "filter": metered, "expand": ["customer"]},
    ).json()
    assert expanded["customer"]["id"] == customer.pk
    assert everything["id"]


SUMMARY_ERRORS = [
    ({}, "filter", "parameter_missing"),
    ({"filter": {"type": "everything"}}, "filter[type]", "parameter_invalid"),
    ({"filter": {"type": "credit_grant"}}, "filter[credit_grant]", "parameter_missing"),
    (
        {"filter": {"type": "applicability_scope"}},
        "filter[applicability_scope]",
        "parameter_missing",
    ),
    (
        {"filter": {"type": "credit_grant", "credit_grant": "credgr_missing"}},
        "filter[credit_grant]",
        "resource_missing",
    ),
    (
        {
            "filter": {
                "type": "credit_grant",
                "credit_grant": "credgr_x",
                "applicability_scope": {"price_type": "metered"},
            }
        },
        "filter[applicability_scope]",
        "parameters_exclusive",
    ),
    (
        {
            "filter": {"type": "credit_grant", "credit_grant": "x"},
            "expand": ["balances"],
        },
        "expand",
        "parameter_invalid",
    ),
]


@pytest.mark.parametrize(("params", "param", "code"), SUMMARY_ERRORS)
def test_balance_summary_refuses_bad_filters(api, customer, params, param, code):
    error = error_of(api.get(SUMMARY, {"customer": customer.pk, **params}))
    assert (error["param"], error["code"]) == (param, code)


def test_balance_summary_unknown_customer(api, frozen):
    error = error_of(
        api.get(
            SUMMARY,
            {
                "customer": "cus_missing",
                "filter": {"type": "credit_grant", "credit_grant": "x"},
            },
        )
    )
    assert error["param"] == "customer"
