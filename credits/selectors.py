"""Reads of the credits app: balances from the ledger, grant candidates, lists.

Balances (``credit_balance_summary``), per currency, as Stripe defines them:

- ``ledger_balance``: the sum of the ledger rows committed so far (credits minus
  debits). A grant that is not effective yet has no ``credits_granted`` row, so it
  adds nothing until it becomes effective.
- ``available_balance``: the ledger balance less the remainder of grants whose
  ``expires_at`` has passed (``expires_at <= now``) but whose ``credits_expired`` row
  the expiry job has not posted yet. The two differ only in that window.

Both are computed from the ledger rows, never from the cached grant balances, so the
summary always equals the ledger sum.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    BooleanField,
    Case,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.expressions import RawSQL

from catalog.models import Price
from core.models import Customer, TestClock
from credits.allocation import GrantCandidate
from credits.models import CreditBalanceTransaction, CreditGrant

Status = CreditGrant.Status


@dataclass(frozen=True)
class CurrencyBalance:
    """A customer's credit balances in one currency, in minor units."""

    currency: str
    available: int
    ledger: int
    # ``available`` less what the usage not yet invoiced will take (no provider
    # registered: None).
    after_unbilled_usage: int | None = None


# How much of each grant the customer's usage not yet invoiced will take, in minor
# units: billing (a higher app) registers it in its ``AppConfig.ready``.
UnbilledUsageProvider = Callable[..., dict[str, int]]
_unbilled_usage: list[UnbilledUsageProvider] = []


def unbilled_usage_provider_register(provider: UnbilledUsageProvider) -> None:
    """Set ``provider(customer_id=, now=)`` -> {grant id: minor units}."""
    _unbilled_usage[:] = [provider]


@dataclass(frozen=True)
class ScopeFilter:
    """``filter[applicability_scope]``: ``prices`` None means every metered price."""

    prices: frozenset[str] | None = None


def grant_candidate(grant: CreditGrant, *, now: datetime) -> GrantCandidate:
    """Describe a grant for the allocation, with what it could spend at ``now``.

    A grant whose ``effective_at`` has come but whose ``credits_granted`` row is
    not posted yet can spend its whole amount (it is posted before any debit).
    """
    if grant.status == Status.PENDING and grant.effective_at <= now:
        balance = grant.amount
    elif grant.status == Status.ACTIVE:
        balance = grant.balance
    else:
        balance = 0
    return GrantCandidate(
        id=grant.pk,
        currency=grant.currency,
        balance=balance,
        priority=grant.priority,
        category=grant.category,
        effective_at=grant.effective_at,
        expires_at=grant.expires_at,
        created=grant.created,
        prices=grant.applies_to_prices,
        voided=grant.status == Status.VOIDED,
    )


def _live_grants(now: datetime) -> QuerySet[CreditGrant]:
    """Grants that may pay invoice lines at ``now`` (pending or active, in effect)."""
    return CreditGrant.objects.filter(
        status__in=[Status.PENDING, Status.ACTIVE], effective_at__lte=now
    ).exclude(expires_at__lte=now)


def grant_candidates_query(
    *, customer_id: str, currencies: Iterable[str], now: datetime
) -> QuerySet[CreditGrant]:
    """Grants of the customer that may pay lines in ``currencies`` at ``now``."""
    return (
        _live_grants(now)
        .filter(
            customer_id=customer_id,
            currency__in={currency.lower() for currency in currencies},
        )
        .order_by("pk")
    )


def grant_candidates_exist_sql(*, customer_column: str, now: datetime) -> RawSQL:
    """Whether the customer in ``customer_column`` (a quoted column of the outer
    query) has a grant that may pay at ``now``: ``_live_grants``'s rule as raw
    SQL, to annotate an invoice preview's one query without the ORM's compile
    cost."""
    return RawSQL(
        "EXISTS (SELECT 1 FROM credits_creditgrant g WHERE g.customer_id = "
        f"{customer_column} AND g.status IN (%s, %s) AND g.effective_at <= %s"
        " AND (g.expires_at IS NULL OR g.expires_at > %s))",
        (Status.PENDING, Status.ACTIVE, now, now),
        output_field=BooleanField(),
    )


def customers_with_grant_candidates(
    *, customer_ids: Iterable[str], now: datetime
) -> set[str]:
    """Those of ``customer_ids`` with a grant that may pay something at ``now``.

    One query for a batch of invoices: the others' invoices meet no credits.
    """
    return set(
        _live_grants(now)
        .filter(customer_id__in=list(customer_ids))
        .values_list("customer_id", flat=True)
        .distinct()
    )


def ledger_sums(grants: QuerySet[CreditGrant]) -> dict[str, int]:
    """Return, per grant id, the sum of its ledger rows (credits minus debits)."""
    rows = (
        CreditBalanceTransaction.objects.filter(credit_grant__in=grants)
        .values("credit_grant")
        .annotate(
            total=Sum(
                Case(
                    When(type="credit", then=F("amount")),
                    default=-F("amount"),
                )
            )
        )
    )
    return {row["credit_grant"]: int(row["total"]) for row in rows}


def _scope_matches(grant: CreditGrant, scope: ScopeFilter, metered: set[str]) -> bool:
    """Whether the grant can pay for some price of the scope.

    Every grant pays only metered prices, so ``price_type=metered`` matches them
    all; a price list matches grants that cover at least one listed metered price.
    """
    if scope.prices is None:
        return True
    wanted = scope.prices & metered
    covered = grant.applies_to_prices
    return bool(wanted) if covered is None else bool(wanted & covered)


def credit_balance_summary(
    *,
    customer_id: str,
    now: datetime,
    credit_grant_id: str | None = None,
    scope: ScopeFilter | None = None,
) -> list[CurrencyBalance]:
    """Available and ledger balances per currency (ordered by currency)."""
    grants = CreditGrant.objects.filter(customer_id=customer_id)
    if credit_grant_id is not None:
        grants = grants.filter(pk=credit_grant_id)
    rows = list(grants)
    if scope is not None:
        metered = _metered_price_ids(scope.prices or ())
        rows = [grant for grant in rows if _scope_matches(grant, scope, metered)]
    sums = ledger_sums(grants)
    unbilled = {}
    if _unbilled_usage and rows:
        unbilled = _unbilled_usage[0](customer_id=customer_id, now=now)
    balances: dict[str, list[int]] = {}
    for grant in rows:
        ledger = sums.get(grant.pk, 0)
        lapsed = grant.expires_at is not None and grant.expires_at <= now
        totals = balances.setdefault(grant.currency, [0, 0, 0])
        totals[0] += 0 if lapsed else ledger
        totals[1] += ledger
        totals[2] += unbilled.get(grant.pk, 0)
    return [
        CurrencyBalance(
            currency=currency,
            available=available,
            ledger=ledger,
            after_unbilled_usage=available - used if _unbilled_usage else None,
        )
        for currency, (available, ledger, used) in sorted(balances.items())
    ]


def _metered_price_ids(price_ids: Iterable[str]) -> set[str]:
    return set(
        Price.objects.filter(
            pk__in=list(price_ids), recurring_usage_type="metered"
        ).values_list("pk", flat=True)
    )


def credit_grants_next_due(*, test_clock: TestClock) -> datetime | None:
    """The earliest moment a grant of the clock's customers starts or expires."""
    rows = CreditGrant.objects.filter(test_clock=test_clock)
    starts = rows.filter(status=Status.PENDING).aggregate(at=Min("effective_at"))
    ends = rows.filter(
        status__in=[Status.PENDING, Status.ACTIVE], expires_at__isnull=False
    ).aggregate(at=Min("expires_at"))
    moments = [moment for moment in (starts["at"], ends["at"]) if moment is not None]
    return min(moments, default=None)


def expiry_notice_due_q(*, now: datetime, window: timedelta) -> Q:
    """Grants due for their expiring-soon notice at ``now`` (the grant's own columns).

    Due while active with credits left and ``now < expires_at <= now + window``.
    """
    return Q(
        status=Status.ACTIVE,
        balance__gt=0,
        expiry_notice_sent_at__isnull=True,
        expires_at__gt=now,
        expires_at__lte=now + window,
    )


def notice_recipient(customer: Customer) -> str:
    """The address a customer's notices go to; "" when there is none."""
    if customer.deleted:
        return ""
    return (customer.email or "").strip()


def _notice_candidates(rows: QuerySet[CreditGrant]) -> QuerySet[CreditGrant]:
    """Grants that may still get a notice, to a customer we can write to."""
    return (
        rows.filter(
            status=Status.ACTIVE,
            balance__gt=0,
            expiry_notice_sent_at__isnull=True,
            customer__deleted=False,
            customer__email__isnull=False,
        )
        .exclude(customer__email="")
        .order_by("pk")
    )


def credit_grants_expiry_notice_due(
    *, now: datetime, window: timedelta, test_clock: TestClock | None = None
) -> list[str]:
    """Ids of grants whose expiring-soon notice is due at ``now``, in id order.

    Without ``test_clock``: grants of customers on real time only.
    """
    rows = CreditGrant.objects.filter(expiry_notice_due_q(now=now, window=window))
    if test_clock is None:
        rows = rows.filter(test_clock__isnull=True)
    else:
        rows = rows.filter(test_clock=test_clock)
    return list(_notice_candidates(rows).values_list("pk", flat=True))


def credit_grants_next_expiry_notice(
    *, test_clock: TestClock, window: timedelta
) -> datetime | None:
    """The earliest moment a notice of the clock's customers is due (maybe past)."""
    if not window:
        return None
    rows = CreditGrant.objects.filter(
        test_clock=test_clock, expires_at__gt=test_clock.frozen_time
    )
    first = _notice_candidates(rows).aggregate(at=Min("expires_at"))["at"]
    return None if first is None else first - window


def credit_grant_list(*, customer_id: str | None = None) -> QuerySet[CreditGrant]:
    rows = CreditGrant.objects.all()
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    return rows


def credit_transaction_list(
    *, customer_id: str, credit_grant_id: str | None = None
) -> QuerySet[CreditBalanceTransaction]:
    """A customer's ledger rows for the API list, optionally of one grant."""
    rows = CreditBalanceTransaction.objects.filter(customer_id=customer_id)
    if credit_grant_id is not None:
        rows = rows.filter(credit_grant_id=credit_grant_id)
    return rows.select_related("credit_grant")


@dataclass(frozen=True)
class AppliedCredit:
    """Credits one grant paid on one invoice line, for the invoice page."""

    line_id: str
    credit_grant_id: str
    credit_grant_name: str
    credit_balance_transaction_id: str
    amount: int  # minor units
    currency: str
    reinstated: bool  # given back when the invoice was voided


def invoice_applied_credits(*, invoice_id: str) -> list[AppliedCredit]:
    """The invoice's "Applied credits": each (grant, line) debit, oldest first."""
    entries = CreditBalanceTransaction.objects.filter(invoice=invoice_id)
    returned = {
        (entry.credit_grant_id, entry.invoice_line_item)
        for entry in entries
        if entry.kind
        == CreditBalanceTransaction.Kind.CREDITS_APPLICATION_INVOICE_VOIDED
    }
    debits = entries.filter(kind=CreditBalanceTransaction.Kind.CREDITS_APPLIED)
    return [
        AppliedCredit(
            line_id=entry.invoice_line_item,
            credit_grant_id=entry.credit_grant_id,
            credit_grant_name=str(entry.credit_grant),
            credit_balance_transaction_id=entry.pk,
            amount=entry.amount,
            currency=entry.currency,
            reinstated=(entry.credit_grant_id, entry.invoice_line_item) in returned,
        )
        for entry in debits.select_related("credit_grant").order_by("created", "pk")
    ]


def ledger_running_balance() -> Subquery:
    """Annotation: the customer's ledger balance after each row, in the row's
    currency (minor units): its rows up to this one in (created, id) order."""
    signed = Case(
        When(type=CreditBalanceTransaction.Type.CREDIT, then=F("amount")),
        default=-F("amount"),
    )
    up_to_here = CreditBalanceTransaction.objects.filter(
        Q(created__lt=OuterRef("created"))
        | Q(created=OuterRef("created"), id__lte=OuterRef("id")),
        customer_id=OuterRef("customer_id"),
        currency=OuterRef("currency"),
    )
    return Subquery(
        up_to_here.order_by()
        .values("customer_id")
        .annotate(total=Sum(signed))
        .values("total")[:1]
    )


def grant_scope_prices(*, grant: CreditGrant) -> QuerySet[Price]:
    """The prices a grant is limited to, with their products, by product name."""
    return (
        Price.objects.filter(pk__in=grant.scope_prices or [])
        .select_related("product")
        .order_by("product__name", "pk")
    )
