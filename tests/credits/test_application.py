"""The contract billing calls: apply, preview and reinstate, against the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from credits import selectors
from credits.models import CreditBalanceTransaction, CreditGrant
from credits.services import (
    CreditApplication,
    credit_grant_expire,
    credit_grant_void,
    credit_grants_process_due,
    credits_apply_to_invoice,
    credits_preview_for_invoice,
    credits_reinstate_for_invoice,
)
from tests.credits.factories import T0, CustomerFactory, PriceFactory, line, make_grant

pytestmark = pytest.mark.django_db

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
PERIOD_END = T0 + 30 * DAY


def kinds(grant: CreditGrant) -> list[tuple[str, int]]:
    return [
        (entry.kind, entry.signed_amount)
        for entry in grant.transactions.order_by("created", "pk")
    ]


def ledger_sum(grant: CreditGrant) -> int:
    return selectors.ledger_sums(CreditGrant.objects.filter(pk=grant.pk)).get(
        grant.pk, 0
    )


def refreshed(grant: CreditGrant) -> CreditGrant:
    grant.refresh_from_db()
    assert grant.balance == ledger_sum(grant)
    return grant


@pytest.fixture
def customer():
    return CustomerFactory()


def test_apply_writes_one_debit_per_grant_and_line(customer):
    first = make_grant(customer, 500, priority=10, name="first")
    second = make_grant(customer, 1000, name="second")
    applications = credits_apply_to_invoice(
        customer_id=customer.pk,
        invoice_id="in_1",
        lines=[line("il_1", 300), line("il_2", 400)],
        now=PERIOD_END,
    )
    assert [(a.line_id, a.credit_grant_id, a.amount) for a in applications] == [
        ("il_1", first.pk, 300),
        ("il_2", first.pk, 200),
        ("il_2", second.pk, 200),
    ]
    entries = CreditBalanceTransaction.objects.filter(invoice="in_1")
    assert {e.pk for e in entries} == {
        a.credit_balance_transaction_id for a in applications
    }
    for application in applications:
        entry = entries.get(pk=application.credit_balance_transaction_id)
        assert (entry.kind, entry.type) == ("credits_applied", "debit")
        assert entry.invoice_line_item == application.line_id
        assert entry.amount == application.amount
        assert entry.effective_at == PERIOD_END
    assert refreshed(first).balance == 0
    assert refreshed(second).balance == 800


def test_apply_again_for_the_same_invoice_writes_nothing(customer):
    grant = make_grant(customer, 1000)
    lines = [line("il_1", 300), line("il_2", 200)]
    once = credits_apply_to_invoice(
        customer_id=customer.pk, invoice_id="in_1", lines=lines, now=PERIOD_END
    )
    twice = credits_apply_to_invoice(
        customer_id=customer.pk, invoice_id="in_1", lines=lines, now=PERIOD_END
    )
    assert once == twice
    assert refreshed(grant).balance == 500
    assert grant.transactions.count() == 3


def test_preview_matches_apply_and_writes_nothing(customer):
    make_grant(customer, 700, priority=0)
    make_grant(customer, 700, category="promotional")
    lines = [line("il_1", 500), line("il_2", 500)]
    preview = credits_preview_for_invoice(
        customer_id=customer.pk, lines=lines, now=PERIOD_END
    )
    assert all(a.credit_balance_transaction_id is None for a in preview)
    assert CreditBalanceTransaction.objects.filter(kind="credits_applied").count() == 0
    applied = credits_apply_to_invoice(
        customer_id=customer.pk, invoice_id="in_1", lines=lines, now=PERIOD_END
    )
    assert [(a.line_id, a.credit_grant_id, a.amount) for a in preview] == [
        (a.line_id, a.credit_grant_id, a.amount) for a in applied
    ]


def test_priority_then_tie_breakers_in_the_database(customer):
    never = make_grant(customer, 100, name="never")
    paid = make_grant(customer, 100, expires_at=T0 + 90 * DAY, name="paid")
    promo = make_grant(
        customer, 100, expires_at=T0 + 90 * DAY, category="promotional", name="promo"
    )
    soon = make_grant(customer, 100, expires_at=T0 + 60 * DAY, name="soon")
    urgent = make_grant(customer, 100, priority=49, name="urgent")
    older = make_grant(customer, 100, now=T0 - DAY, name="older")
    applications = credits_apply_to_invoice(
        customer_id=customer.pk,
        invoice_id="in_1",
        lines=[line(f"il_{i}", 100) for i in range(6)],
        now=PERIOD_END,
    )
    order = [a.credit_grant_id for a in applications]
    # "older" never expires like "never" but became effective a day earlier.
    assert order == [g.pk for g in (urgent, soon, promo, paid, older, never)]


def test_grant_expiring_exactly_at_the_period_end(customer):
    grant = make_grant(customer, 1000, expires_at=PERIOD_END)
    lines = [line("il_1", 400)]
    # One second before the end the grant is still valid...
    assert credits_preview_for_invoice(
        customer_id=customer.pk, lines=lines, now=PERIOD_END - timedelta(seconds=1)
    ) == [CreditApplication("il_1", grant.pk, None, 400)]
    # ...but validity is [effective_at, expires_at): at the end it has expired.
    assert (
        credits_apply_to_invoice(
            customer_id=customer.pk, invoice_id="in_1", lines=lines, now=PERIOD_END
        )
        == []
    )
    assert refreshed(grant).balance == 1000
    assert credit_grants_process_due(now=PERIOD_END) == 1
    assert kinds(refreshed(grant)) == [
        ("credits_granted", 1000),
        ("credits_expired", -1000),
    ]


def test_expiry_between_usage_and_finalization(customer):
    # The usage happened while the grant was valid, but the invoice finalizes an
    # hour after the period end (the grace period), when the grant has expired.
    grant = make_grant(
        customer, 1000, expires_at=PERIOD_END + 30 * timedelta(minutes=1)
    )
    assert credit_grants_process_due(now=PERIOD_END + HOUR) == 1
    applications = credits_apply_to_invoice(
        customer_id=customer.pk,
        invoice_id="in_1",
        lines=[line("il_1", 400)],
        now=PERIOD_END + HOUR,
    )
    assert applications == []
    grant = refreshed(grant)
    assert (grant.status, grant.balance) == ("expired", 0)
    expired = grant.transactions.get(kind="credits_expired")
    assert expired.effective_at == grant.expires_at
    assert expired.amount == 1000


def test_expired_but_not_yet_posted_grant_is_not_applied(customer):
    grant = make_grant(customer, 1000, expires_at=PERIOD_END)
    assert (
        credits_apply_to_invoice(
            customer_id=customer.pk,
            invoice_id="in_1",
            lines=[line("il_1", 400)],
            now=PERIOD_END + HOUR,
        )
        == []
    )
    summary = selectors.credit_balance_summary(
        customer_id=customer.pk, now=PERIOD_END + HOUR
    )
    assert [(b.available, b.ledger) for b in summary] == [(0, 1000)]
    assert refreshed(grant).status == "active"


def test_not_yet_effective_grants(customer):
    later = make_grant(customer, 1000, effective_at=PERIOD_END + DAY)
    assert later.status == "pending"
    assert later.transactions.count() == 0
    lines = [line("il_1", 400)]
    assert (
        credits_apply_to_invoice(
            customer_id=customer.pk, invoice_id="in_1", lines=lines, now=PERIOD_END
        )
        == []
    )
    # At effective_at exactly, it is effective: granted first, then applied.
    applications = credits_apply_to_invoice(
        customer_id=customer.pk,
        invoice_id="in_2",
        lines=lines,
        now=PERIOD_END + DAY,
    )
    assert [(a.credit_grant_id, a.amount) for a in applications] == [(later.pk, 400)]
    later = refreshed(later)
    assert later.status == "active"
    assert kinds(later) == [("credits_granted", 1000), ("credits_applied", -400)]
    granted = later.transactions.get(kind="credits_granted")
    assert granted.effective_at == PERIOD_END + DAY


def test_prices_scope_excludes_a_line(customer):
    input_price, output_price = PriceFactory(), PriceFactory()
    grant = make_grant(customer, 1000, prices=[input_price.pk])
    applications = credits_apply_to_invoice(
        customer_id=customer.pk,
        invoice_id="in_1",
        lines=[
            line("il_out", 300, price=output_price.pk),
            line("il_in", 200, price=input_price.pk),
        ],
        now=PERIOD_END,
    )
    assert [(a.line_id, a.amount) for a in applications] == [("il_in", 200)]
    assert refreshed(grant).balance == 800


def test_licensed_and_one_off_lines_never_consume_credits(customer):
    grant = make_grant(customer, 1000)
    licensed = PriceFactory(licensed=True)
    one_time = PriceFactory(one_time=True)
    applications = credits_apply_to_invoice(
        customer_id=customer.pk,
        invoice_id="in_1",
        lines=[
            line("il_fee", 20000, price=licensed.pk, metered=False),
            line("il_setup", 5000, price=one_time.pk, metered=False),
            line("il_item", 700, price=None, metered=False),
        ],
        now=PERIOD_END,
    )
    assert applications == []
    assert refreshed(grant).balance == 1000


def test_multi_currency_grants(customer):
    usd = make_grant(customer, 1000)
    eur = make_grant(customer, 500, currency="eur")
    jpy = make_grant(customer, 300, currency="JPY")
    applications = credits_apply_to_invoice(
        customer_id=customer.pk,
        invoice_id="in_eur",
        lines=[line("il_1", 800, currency="eur")],
        now=PERIOD_END,
    )
    assert [(a.credit_grant_id, a.amount) for a in applications] == [(eur.pk, 500)]
    summary = selectors.credit_balance_summary(customer_id=customer.pk, now=PERIOD_END)
    assert [(b.currency, b.available, b.ledger) for b in summary] == [
        ("eur", 0, 0),
        ("jpy", 300, 300),
        ("usd", 1000, 1000),
    ]
    assert refreshed(usd).balance == 1000
    assert refreshed(jpy).currency == "jpy"


def test_reinstatement_gives_back_exactly_what_the_invoice_consumed(customer):
    first = make_grant(customer, 500, priority=0)
    second = make_grant(customer, 1000)
    credits_apply_to_invoice(
        customer_id=customer.pk,
        invoice_id="in_other",
        lines=[line("il_0", 100)],
        now=PERIOD_END,
    )
    applied = credits_apply_to_invoice(
        customer_id=customer.pk,
        invoice_id="in_1",
        lines=[line("il_1", 300), line("il_2", 400)],
        now=PERIOD_END,
    )
    assert refreshed(first).balance == 0
    assert refreshed(second).balance == 700
    reinstated = credits_reinstate_for_invoice(invoice_id="in_1", now=PERIOD_END + DAY)
    assert [(r.line_id, r.credit_grant_id, r.amount) for r in reinstated] == [
        (a.line_id, a.credit_grant_id, a.amount) for a in applied
    ]
    # in_other's 100 stays consumed.
    assert refreshed(first).balance == 400
    assert refreshed(second).balance == 1000
    again = credits_reinstate_for_invoice(invoice_id="in_1", now=PERIOD_END + 2 * DAY)
    assert again == reinstated
    assert CreditBalanceTransaction.objects.filter(
        kind="credits_application_invoice_voided"
    ).count() == len(applied)
    first_line = next(r for r in reinstated if r.line_id == "il_1")
    entry = CreditBalanceTransaction.objects.get(
        pk=first_line.credit_balance_transaction_id
    )
    assert (entry.type, entry.invoice, entry.invoice_line_item) == (
        "credit",
        "in_1",
        "il_1",
    )


def test_reinstatement_on_an_invoice_without_credits_is_empty(customer):
    assert credits_reinstate_for_invoice(invoice_id="in_none", now=PERIOD_END) == []


@pytest.mark.parametrize(
    ("end", "kind"),
    [(credit_grant_expire, "credits_expired"), (credit_grant_void, "credits_voided")],
)
def test_reinstating_into_an_ended_grant_ends_those_credits_too(customer, end, kind):
    grant = make_grant(customer, 1000)
    credits_apply_to_invoice(
        customer_id=customer.pk,
        invoice_id="in_1",
        lines=[line("il_1", 600)],
        now=PERIOD_END,
    )
    end(grant=grant, now=PERIOD_END + HOUR)
    credits_reinstate_for_invoice(invoice_id="in_1", now=PERIOD_END + DAY)
    assert kinds(refreshed(grant)) == [
        ("credits_granted", 1000),
        ("credits_applied", -600),
        (kind, -400),
        ("credits_application_invoice_voided", 600),
        (kind, -600),
    ]
    assert grant.balance == 0


@pytest.mark.parametrize(
    ("end", "kind"),
    [(credit_grant_expire, "credits_expired"), (credit_grant_void, "credits_voided")],
)
def test_void_and_expire_on_a_partly_used_grant_debit_the_remainder(
    customer, end, kind
):
    grant = make_grant(customer, 1000)
    credits_apply_to_invoice(
        customer_id=customer.pk,
        invoice_id="in_1",
        lines=[line("il_1", 350)],
        now=PERIOD_END,
    )
    ended = end(grant=grant, now=PERIOD_END + HOUR)
    assert kinds(refreshed(ended)) == [
        ("credits_granted", 1000),
        ("credits_applied", -350),
        (kind, -650),
    ]
    assert ended.balance == 0
    summary = selectors.credit_balance_summary(
        customer_id=customer.pk, now=PERIOD_END + DAY
    )
    assert [(b.available, b.ledger) for b in summary] == [(0, 0)]
    assert (
        credits_apply_to_invoice(
            customer_id=customer.pk,
            invoice_id="in_2",
            lines=[line("il_2", 100)],
            now=PERIOD_END + DAY,
        )
        == []
    )


def test_the_database_refuses_a_negative_balance(customer):
    grant = make_grant(customer, 1000)
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditGrant.objects.filter(pk=grant.pk).update(balance=-1)


def test_the_database_refuses_a_second_debit_of_the_same_line(customer):
    grant = make_grant(customer, 1000)
    credits_apply_to_invoice(
        customer_id=customer.pk,
        invoice_id="in_1",
        lines=[line("il_1", 100)],
        now=PERIOD_END,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditBalanceTransaction(
            credit_grant=grant,
            customer=customer,
            type="debit",
            kind="credits_applied",
            amount=1,
            currency="usd",
            invoice="in_2",
            invoice_line_item="il_1",
            effective_at=PERIOD_END,
        ).save()


def test_ledger_rows_are_append_only(customer):
    entry = make_grant(customer, 1000).transactions.get()
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()


def test_invoice_applied_credits_for_the_invoice_page(customer):
    first = make_grant(customer, 500, priority=0, name="Starter credits")
    second = make_grant(customer, 1000)
    credits_apply_to_invoice(
        customer_id=customer.pk,
        invoice_id="in_1",
        lines=[line("il_1", 800)],
        now=PERIOD_END,
    )
    shown = selectors.invoice_applied_credits(invoice_id="in_1")
    assert [(c.credit_grant_name, c.amount, c.reinstated) for c in shown] == [
        ("Starter credits", 500, False),
        (second.pk, 300, False),
    ]
    assert shown[0].credit_grant_id == first.pk
    credits_reinstate_for_invoice(invoice_id="in_1", now=PERIOD_END + DAY)
    shown = selectors.invoice_applied_credits(invoice_id="in_1")
    assert [c.reinstated for c in shown] == [True, True]
    assert selectors.invoice_applied_credits(invoice_id="in_other") == []


def test_a_line_passed_twice_is_a_callers_bug(customer):
    make_grant(customer, 1000)
    with pytest.raises(ValueError, match="once"):
        credits_apply_to_invoice(
            customer_id=customer.pk,
            invoice_id="in_1",
            lines=[line("il_1", 100), line("il_1", 100)],
            now=PERIOD_END,
        )
    assert CreditBalanceTransaction.objects.filter(kind="credits_applied").count() == 0
