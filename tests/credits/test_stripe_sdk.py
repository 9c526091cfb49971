"""The official stripe SDK drives credit grants, transactions and the summary."""

from __future__ import annotations

import time

import pytest

from core import clock
from credits.services import credits_apply_to_invoice
from tests.credits.factories import PriceFactory, line

DAY = 24 * 3600


def test_grant_lifecycle_with_the_sdk(stripe_sdk):
    stripe = stripe_sdk
    customer = stripe.Customer.create(
        name="Jenny Rosen", email="jenny.rosen@example.com"
    )
    expires_at = int(time.time()) + 365 * DAY
    grant = stripe.billing.CreditGrant.create(
        customer=customer.id,
        name="Hypernian credits",
        amount={"type": "monetary", "monetary": {"currency": "usd", "value": 1000}},
        applicability_config={"scope": {"price_type": "metered"}},
        category="promotional",
        expires_at=expires_at,
        metadata={"plan": "starter"},
    )
    assert isinstance(grant, stripe.billing.CreditGrant)
    assert grant.id.startswith("credgr_")
    assert grant.amount.monetary.value == 1000
    assert grant.applicability_config.scope.price_type == "metered"
    assert grant.expires_at == expires_at

    fetched = stripe.billing.CreditGrant.retrieve(grant.id, expand=["customer"])
    assert fetched.customer.email == "jenny.rosen@example.com"
    listed = stripe.billing.CreditGrant.list(customer=customer.id)
    assert [g.id for g in listed.auto_paging_iter()] == [grant.id]

    updated = stripe.billing.CreditGrant.modify(
        grant.id, expires_at="", metadata={"plan": "", "owner": "sales"}
    )
    assert updated.expires_at is None
    assert updated.metadata.to_dict() == {"owner": "sales"}

    credits_apply_to_invoice(
        customer_id=customer.id,
        invoice_id="in_sdk",
        lines=[line("il_sdk", 600)],
        now=clock.now(),
    )
    summary = stripe.billing.CreditBalanceSummary.retrieve(
        customer=customer.id,
        filter={
            "type": "applicability_scope",
            "applicability_scope": {"price_type": "metered"},
        },
    )
    assert summary.object == "billing.credit_balance_summary"
    (balance,) = summary.balances
    assert balance.available_balance.monetary.value == 400
    assert balance.ledger_balance.monetary.currency == "usd"

    transactions = stripe.billing.CreditBalanceTransaction.list(
        customer=customer.id, credit_grant=grant.id
    )
    kinds = [
        (
            t.type,
            (t.credit or t.debit).type,
            (t.credit or t.debit).amount.monetary.value,
        )
        for t in transactions.auto_paging_iter()
    ]
    assert kinds == [
        ("debit", "credits_applied", 600),
        ("credit", "credits_granted", 1000),
    ]
    applied = stripe.billing.CreditBalanceTransaction.retrieve(transactions.data[0].id)
    assert applied.debit.credits_applied.invoice_line_item == "il_sdk"

    voided = stripe.billing.CreditGrant.void_grant(grant.id)
    assert voided.voided_at is not None
    second = stripe.billing.CreditGrant.create(
        customer=customer.id,
        amount={"type": "monetary", "monetary": {"currency": "usd", "value": 250}},
        applicability_config={"scope": {"price_type": "metered"}},
    )
    expired = stripe.billing.CreditGrant.expire(second.id)
    assert expired.expires_at is not None
    summary = stripe.billing.CreditBalanceSummary.retrieve(
        customer=customer.id,
        filter={"type": "credit_grant", "credit_grant": second.id},
    )
    assert summary.balances[0].ledger_balance.monetary.value == 0


def test_sdk_errors(stripe_sdk):
    stripe = stripe_sdk
    customer = stripe.Customer.create(name="Northwind Analytics")
    price = PriceFactory(licensed=True)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe.billing.CreditGrant.create(
            customer=customer.id,
            amount={"type": "monetary", "monetary": {"currency": "usd", "value": 100}},
            applicability_config={"scope": {"prices": [{"id": price.id}]}},
        )
    assert info.value.param == "applicability_config[scope][prices][0][id]"
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe.billing.CreditGrant.create(
            customer=customer.id,
            amount={"type": "monetary", "monetary": {"currency": "usd", "value": 100}},
            applicability_config={"scope": {"price_type": "metered"}},
            priority=101,
        )
    assert info.value.param == "priority"
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe.billing.CreditGrant.retrieve("credgr_missing")
    assert info.value.http_status == 404
