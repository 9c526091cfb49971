"""``/v1/billing/credit_grants``: create, retrieve, list, update, expire, void, its
events; the balance and its transactions are in ``test_balance_api.py``."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from core import clock
from credits.models import CreditBalanceTransaction, CreditGrant
from credits.services import credits_apply_to_invoice
from tests.credits.factories import (
    T0,
    CustomerFactory,
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


def test_create_and_retrieve_shape(api, customer):
    body = api.post(
        GRANTS,
        grant_params(
            customer,
            category="promotional",
            priority=10,
            effective_at=unix(T0 - DAY),
            expires_at=unix(T0 + 365 * DAY),
            metadata={"contract": "c-42"},
        ),
    ).json()
    assert body.pop("id").startswith("credgr_")
    assert body == {
        "object": "billing.credit_grant",
        "amount": {"monetary": {"currency": "usd", "value": 1000}, "type": "monetary"},
        "applicability_config": {"scope": {"price_type": "metered"}},
        "category": "promotional",
        "created": unix(T0),
        "customer": customer.pk,
        "customer_account": None,
        "effective_at": unix(T0 - DAY),
        "expires_at": unix(T0 + 365 * DAY),
        "livemode": False,
        "metadata": {"contract": "c-42"},
        "name": "Hypernian credits",
        "priority": 10,
        "test_clock": None,
        "updated": unix(T0),
        "voided_at": None,
    }


def test_create_defaults(api, customer):
    params = grant_params(customer)
    del params["name"]
    body = api.post(GRANTS, params).json()
    assert (body["category"], body["priority"], body["name"]) == ("paid", 50, None)
    assert (body["effective_at"], body["expires_at"]) == (unix(T0), None)
    fetched = api.get(f"{GRANTS}/{body['id']}").json()
    assert fetched == body
    grant = CreditGrant.objects.get(pk=body["id"])
    assert (grant.status, grant.balance) == ("active", 1000)


def test_create_with_prices_scope(api, customer):
    price = PriceFactory()
    body = api.post(
        GRANTS,
        grant_params(
            customer,
            applicability_config={"scope": {"prices": [{"id": price.pk}]}},
        ),
    ).json()
    assert body["applicability_config"] == {"scope": {"prices": [{"id": price.pk}]}}


def _bad_value(params):
    params["amount"]["monetary"]["value"] = 0


def _negative_value(params):
    params["amount"]["monetary"]["value"] = -5


def _text_value(params):
    params["amount"]["monetary"]["value"] = "ten"


def _bad_currency(params):
    params["amount"]["monetary"]["currency"] = "us"


def _no_monetary(params):
    del params["amount"]["monetary"]


def _no_customer(params):
    del params["customer"]


def _scope(scope):
    def change(params):
        params["applicability_config"] = {"scope": scope}

    return change


def _set(**values):
    def change(params):
        params.update(values)

    return change


SCOPE = "applicability_config[scope]"
INVALID = [
    (_set(customer="cus_missing"), 400, "customer", "resource_missing"),
    (_no_customer, 400, "customer", "parameter_missing"),
    (
        _set(amount={"type": "credits", "monetary": {"currency": "usd", "value": 1}}),
        400,
        "amount[type]",
        "parameter_invalid",
    ),
    (_no_monetary, 400, "amount[monetary]", "parameter_missing"),
    (_bad_value, 400, "amount[monetary][value]", "parameter_invalid"),
    (_negative_value, 400, "amount[monetary][value]", "parameter_invalid"),
    (_text_value, 400, "amount[monetary][value]", "parameter_invalid"),
    (_bad_currency, 400, "amount[monetary][currency]", "parameter_invalid"),
    (_scope({}), 400, "applicability_config", "parameter_missing"),
    (_scope({"price_type": "licensed"}), 400, f"{SCOPE}[price_type]", None),
    (
        _scope({"price_type": "metered", "prices": [{"id": "price_x"}]}),
        400,
        f"{SCOPE}[prices]",
        "parameters_exclusive",
    ),
    (
        _scope({"prices": [{"id": f"price_{i}"} for i in range(21)]}),
        400,
        f"{SCOPE}[prices]",
        "parameter_invalid",
    ),
    (
        _scope({"prices": [{"id": "price_missing"}]}),
        400,
        f"{SCOPE}[prices][0][id]",
        "resource_missing",
    ),
    (_set(priority=101), 400, "priority", "parameter_invalid"),
    (_set(priority=-1), 400, "priority", "parameter_invalid"),
    (_set(category="gift"), 400, "category", "parameter_invalid"),
    (
        _set(effective_at=unix(T0 + DAY), expires_at=unix(T0 + DAY)),
        400,
        "expires_at",
        "parameter_invalid",
    ),
    (_set(expires_at=unix(T0 - DAY)), 400, "expires_at", "parameter_invalid"),
    (_set(expires_at="soon"), 400, "expires_at", "parameter_invalid"),
    (_set(customer_account="acct_1"), 400, "customer_account", "parameter_unknown"),
    (_set(name="x" * 101), 400, "name", "parameter_invalid"),
]


@pytest.mark.parametrize(("change", "status", "param", "code"), INVALID)
def test_create_refuses_bad_input(api, customer, change, status, param, code):
    params = grant_params(customer)
    change(params)
    response = api.post(GRANTS, params)
    assert response.status_code == status, response.content
    error = error_of(response)
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    if code:
        assert error["code"] == code
    assert CreditGrant.objects.count() == 0
    assert CreditBalanceTransaction.objects.count() == 0


def test_create_needs_a_scope(api, customer):
    response = api.post_json(
        GRANTS, grant_params(customer, applicability_config={"scope": {}})
    )
    error = error_of(response)
    assert (error["param"], error["code"]) == (
        f"{SCOPE}[price_type]",
        "parameter_missing",
    )


@pytest.mark.parametrize(
    ("price_kwargs", "message"),
    [
        ({"licensed": True}, "not metered"),
        ({"currency": "eur"}, "EUR"),
    ],
)
def test_create_refuses_prices_that_cannot_take_credits(
    api, customer, price_kwargs, message
):
    good, bad = PriceFactory(), PriceFactory(**price_kwargs)
    response = api.post(
        GRANTS,
        grant_params(
            customer,
            applicability_config={
                "scope": {"prices": [{"id": good.pk}, {"id": bad.pk}]}
            },
        ),
    )
    error = error_of(response)
    assert response.status_code == 400
    assert error["param"] == f"{SCOPE}[prices][1][id]"
    assert message in error["message"]
    assert CreditGrant.objects.count() == 0


def test_retrieve_unknown_is_404(api, frozen):
    response = api.get(f"{GRANTS}/credgr_missing")
    assert response.status_code == 404
    error = error_of(response)
    assert (error["code"], error["param"]) == ("resource_missing", "id")
    assert "credit grant" in error["message"]


def test_list_by_customer_with_pagination_and_expand(api, customer):
    other = CustomerFactory()
    ids = [api.post(GRANTS, grant_params(customer)).json()["id"] for _ in range(3)]
    api.post(GRANTS, grant_params(other))
    page = api.get(GRANTS, {"customer": customer.pk, "limit": 2}).json()
    assert page["object"] == "list"
    assert page["url"] == GRANTS
    assert page["has_more"] is True
    rest = api.get(
        GRANTS, {"customer": customer.pk, "starting_after": page["data"][-1]["id"]}
    ).json()
    listed = [g["id"] for g in page["data"] + rest["data"]]
    assert sorted(listed) == sorted(ids)
    assert len(api.get(GRANTS).json()["data"]) == 4
    expanded = api.get(
        GRANTS, {"customer": customer.pk, "expand": ["data.customer"]}
    ).json()
    assert expanded["data"][0]["customer"]["id"] == customer.pk
    error = error_of(api.get(GRANTS, {"customer": "cus_missing"}))
    assert error["param"] == "customer"


def test_update_expiry_and_metadata(api, customer):
    grant = api.post(
        GRANTS, grant_params(customer, expires_at=unix(T0 + 30 * DAY))
    ).json()
    url = f"{GRANTS}/{grant['id']}"
    body = api.post(
        url, {"expires_at": unix(T0 + 60 * DAY), "metadata": {"a": "1", "b": "2"}}
    ).json()
    assert body["expires_at"] == unix(T0 + 60 * DAY)
    assert body["metadata"] == {"a": "1", "b": "2"}
    body = api.post(url, {"expires_at": "", "metadata": {"a": ""}}).json()
    assert body["expires_at"] is None
    assert body["metadata"] == {"b": "2"}
    error = error_of(api.post(url, {"expires_at": unix(T0 - DAY)}))
    assert error["param"] == "expires_at"
    error = error_of(api.post(url, {"amount": {"type": "monetary"}}))
    assert (error["param"], error["code"]) == ("amount", "parameter_unknown")
    events = api.get("/v1/events", {"type": "billing.credit_grant.updated"}).json()
    changes = [e["data"]["previous_attributes"] for e in events["data"]]
    assert sorted(changes, key=lambda change: change["expires_at"]) == [
        {"expires_at": unix(T0 + 30 * DAY), "metadata": {}},
        {"expires_at": unix(T0 + 60 * DAY), "metadata": {"a": "1", "b": "2"}},
    ]


def test_expire_and_void(api, customer):
    first = api.post(GRANTS, grant_params(customer)).json()
    credits_apply_to_invoice(
        customer_id=customer.pk,
        invoice_id="in_1",
        lines=[line("il_1", 250)],
        now=T0,
    )
    with time_machine.travel(T0 + DAY, tick=False):
        expired = api.post(f"{GRANTS}/{first['id']}/expire").json()
        assert expired["expires_at"] == unix(T0 + DAY)
        assert expired["updated"] == unix(T0 + DAY)
        error = error_of(api.post(f"{GRANTS}/{first['id']}/void"))
        assert error["code"] == "resource_invalid_state"
        error = error_of(api.post(f"{GRANTS}/{first['id']}", {"expires_at": ""}))
        assert error["param"] == "expires_at"

        second = api.post(GRANTS, grant_params(customer)).json()
        voided = api.post(f"{GRANTS}/{second['id']}/void").json()
        assert voided["voided_at"] == unix(T0 + DAY)
        error = error_of(api.post(f"{GRANTS}/{second['id']}/void"))
        assert error["code"] == "resource_invalid_state"
        assert error_of(api.post(f"{GRANTS}/{second['id']}/expire"))

        pending = api.post(
            GRANTS, grant_params(customer, effective_at=unix(T0 + 9 * DAY))
        ).json()
        error = error_of(api.post(f"{GRANTS}/{pending['id']}/expire"))
        assert "void it instead" in error["message"]
        assert api.post(f"{GRANTS}/{pending['id']}/void").status_code == 200
    kinds = {
        grant_id: [
            (t.kind, t.signed_amount)
            for t in CreditBalanceTransaction.objects.filter(
                credit_grant_id=grant_id
            ).order_by("created", "pk")
        ]
        for grant_id in (first["id"], second["id"], pending["id"])
    }
    assert kinds == {
        first["id"]: [
            ("credits_granted", 1000),
            ("credits_applied", -250),
            ("credits_expired", -750),
        ],
        second["id"]: [("credits_granted", 1000), ("credits_voided", -1000)],
        pending["id"]: [],
    }


def test_events(api, customer):
    grant = api.post(GRANTS, grant_params(customer)).json()
    api.post(f"{GRANTS}/{grant['id']}/void")
    events = api.get("/v1/events", {"limit": 100}).json()["data"]
    assert sorted(e["type"] for e in events) == [
        "billing.credit_balance_transaction.created",
        "billing.credit_balance_transaction.created",
        "billing.credit_grant.created",
        "billing.credit_grant.updated",
    ]
    updated = next(e for e in events if e["type"] == "billing.credit_grant.updated")
    assert updated["data"]["object"]["voided_at"] == unix(T0)
    assert updated["data"]["previous_attributes"] == {"voided_at": None}
    kinds = sorted(
        e["data"]["object"]["credit"]["type"]
        if e["data"]["object"]["credit"]
        else e["data"]["object"]["debit"]["type"]
        for e in events
        if e["type"] == "billing.credit_balance_transaction.created"
    )
    assert kinds == ["credits_granted", "credits_voided"]


def test_test_clock_customer_uses_the_clock(api, frozen):
    test_clock = api.post(
        "/v1/test_helpers/test_clocks", {"frozen_time": unix(T0 - 100 * DAY)}
    ).json()
    customer = api.post("/v1/customers", {"test_clock": test_clock["id"]}).json()
    body = api.post(
        GRANTS,
        {
            "customer": customer["id"],
            "amount": {"type": "monetary", "monetary": {"currency": "usd", "value": 5}},
            "applicability_config": {"scope": {"price_type": "metered"}},
        },
    ).json()
    assert body["test_clock"] == test_clock["id"]
    assert body["created"] == body["effective_at"] == unix(T0 - 100 * DAY)
    assert clock.now() == T0


def test_schema_lists_credit_endpoints(client, frozen):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in (
        GRANTS,
        f"{GRANTS}/{{grant_id}}",
        f"{GRANTS}/{{grant_id}}/expire",
        f"{GRANTS}/{{grant_id}}/void",
        TRANSACTIONS,
        f"{TRANSACTIONS}/{{transaction_id}}",
        SUMMARY,
    ):
        assert path in schema["paths"], path
