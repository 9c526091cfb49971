"""Random sequences of grant, usage, invoice void, expire, void and time passing.

After every step: no grant below zero or above its amount, each cached balance
equals its ledger sum, and the balance summary equals the ledger sum per currency.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import TallyError
from credits import selectors
from credits.models import CreditBalanceTransaction, CreditGrant
from credits.services import (
    credit_grant_expire,
    credit_grant_update,
    credit_grant_void,
    credit_grants_process_due,
    credits_apply_to_invoice,
    credits_reinstate_for_invoice,
)
from tests.credits.factories import T0, CustomerFactory, line, make_grant

HOUR = timedelta(hours=1)
CURRENCIES = ["usd", "eur"]

grant_op = st.tuples(
    st.just("grant"),
    st.integers(min_value=1, max_value=3000),
    st.sampled_from([0, 50, 100]),
    st.sampled_from(["paid", "promotional"]),
    st.integers(min_value=0, max_value=6),  # effective, hours from now
    st.none() | st.integers(min_value=1, max_value=48),  # lifetime in hours
    st.sampled_from(CURRENCIES),
)
apply_op = st.tuples(
    st.just("apply"),
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2500),
            st.sampled_from(CURRENCIES),
            st.booleans(),
        ),
        min_size=1,
        max_size=4,
    ),
)
pick = st.integers(min_value=0, max_value=20)
operations = st.one_of(
    grant_op,
    apply_op,
    st.tuples(st.just("void_invoice"), pick),
    st.tuples(st.just("expire"), pick),
    st.tuples(st.just("void"), pick),
    st.tuples(st.just("extend"), pick, st.none() | st.integers(1, 48)),
    st.tuples(st.just("advance"), st.integers(min_value=1, max_value=24)),
)


class Run:
    """Plays operations against the services for one customer."""

    def __init__(self):
        self.customer = CustomerFactory()
        self.now = T0
        self.grants: list[CreditGrant] = []
        self.invoices: list[str] = []
        self.line_amounts: dict[str, int] = {}

    def play(self, op):
        getattr(self, op[0])(*op[1:])

    def grant(self, value, priority, category, starts_in, lifetime, currency):
        effective_at = self.now + starts_in * HOUR
        expires_at = effective_at + lifetime * HOUR if lifetime else None
        self.grants.append(
            make_grant(
                self.customer,
                value,
                currency=currency,
                priority=priority,
                category=category,
                effective_at=effective_at,
                expires_at=expires_at,
                now=self.now,
            )
        )

    def apply(self, specs):
        invoice_id = f"in_{len(self.invoices)}"
        lines = [
            line(f"{invoice_id}_il_{index}", amount, currency=currency, metered=metered)
            for index, (amount, currency, metered) in enumerate(specs)
        ]
        self.line_amounts.update({item.line_id: item.amount for item in lines})
        credits_apply_to_invoice(
            customer_id=self.customer.pk,
            invoice_id=invoice_id,
            lines=lines,
            now=self.now,
        )
        self.invoices.append(invoice_id)

    def void_invoice(self, index):
        if self.invoices:
            invoice_id = self.invoices[index % len(self.invoices)]
            credits_reinstate_for_invoice(invoice_id=invoice_id, now=self.now)

    def _pick(self, index):
        return self.grants[index % len(self.grants)] if self.grants else None

    def expire(self, index):
        if grant := self._pick(index):
            credit_grant_expire(grant=grant, now=self.now)

    def void(self, index):
        if grant := self._pick(index):
            credit_grant_void(grant=grant, now=self.now)

    def extend(self, index, hours):
        if grant := self._pick(index):
            expires_at = self.now + hours * HOUR if hours else None
            credit_grant_update(
                grant=grant, params={"expires_at": expires_at}, now=self.now
            )

    def advance(self, hours):
        self.now += hours * HOUR
        credit_grants_process_due(now=self.now)

    def check(self):
        entries = list(CreditBalanceTransaction.objects.filter(customer=self.customer))
        by_grant, by_currency = defaultdict(int), defaultdict(int)
        for entry in entries:
            by_grant[entry.credit_grant_id] += entry.signed_amount
            by_currency[entry.currency] += entry.signed_amount
        for grant in CreditGrant.objects.filter(customer=self.customer):
            assert 0 <= grant.balance <= grant.amount
            assert grant.balance == by_grant[grant.pk]
        summary = selectors.credit_balance_summary(
            customer_id=self.customer.pk, now=self.now
        )
        for balance in summary:
            assert balance.ledger == by_currency[balance.currency]
            assert 0 <= balance.available <= balance.ledger
        # What stays applied to a line never exceeds the line.
        applied = defaultdict(int)
        for entry in entries:
            if entry.kind == "credits_applied":
                applied[entry.invoice_line_item] += entry.amount
            elif entry.kind == "credits_application_invoice_voided":
                applied[entry.invoice_line_item] -= entry.amount
        for line_id, amount in applied.items():
            assert 0 <= amount <= max(self.line_amounts[line_id], 0)


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operations, max_size=25))
def test_random_sequences_keep_the_ledger_consistent(ops):
    with transaction.atomic():
        run = Run()
        for op in ops:
            try:
                run.play(op)
            except TallyError:
                pass  # refused (e.g. voiding twice): nothing may be half-written
            run.check()
        transaction.set_rollback(True)
