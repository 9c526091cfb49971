"""The ledger: every movement of a grant's balance, posted under the grant's lock.

Locking policy: a grant's row is locked (``select_for_update``) before its balance is
read for a write; several grants are locked in primary-key order. The cached
``balance`` is saved in the same transaction as the ledger row that explains it, so
it always equals the sum of the grant's ledger rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from django.db.models import F, QuerySet

from core.services.events import event_emit
from credits.models import CreditBalanceTransaction, CreditGrant

Kind = CreditBalanceTransaction.Kind
Status = CreditGrant.Status
_TICK = timedelta(microseconds=1)


def grants_lock(grants: QuerySet[CreditGrant] | Iterable[str]) -> list[CreditGrant]:
    """Lock grants (a queryset, or ids) in primary-key order and return them."""
    if not isinstance(grants, QuerySet):
        grants = CreditGrant.objects.filter(pk__in=list(grants))
    return list(grants.select_for_update().order_by("pk"))


def ledger_moments(grants: Iterable[CreditGrant], now: datetime) -> Iterator[datetime]:
    """Successive creation times for rows written together, after the grants' last.

    Rows one call writes across several grants then list (by ``created``) in the
    order they were written, e.g. an invoice's debits in application order.
    """
    last = [grant.ledger_at + _TICK for grant in grants if grant.ledger_at]
    start = max([now, *last])
    return (start + index * _TICK for index in itertools.count())


def ledger_post(
    *,
    grant: CreditGrant,
    kind: str,
    amount: int,
    now: datetime,
    effective_at: datetime,
    invoice: str = "",
    invoice_line_item: str = "",
) -> CreditBalanceTransaction | None:
    """Append one movement and move the cached balance; nothing for amount 0.

    The caller holds the grant's lock and has set ``grant.status`` for after the
    movement; the grant's balance, status and ledger time are saved here.
    """
    if amount <= 0:
        return None
    is_credit = kind in CreditBalanceTransaction.CREDIT_KINDS
    created = now
    if grant.ledger_at is not None and created <= grant.ledger_at:
        created = grant.ledger_at + _TICK
    entry = CreditBalanceTransaction(
        credit_grant=grant,
        customer_id=grant.customer_id,
        type="credit" if is_credit else "debit",
        kind=kind,
        amount=amount,
        currency=grant.currency,
        invoice=invoice,
        invoice_line_item=invoice_line_item,
        effective_at=effective_at,
        created=created,
        livemode=grant.livemode,
    )
    entry.save()
    # Moved in SQL, not from the value read: should a caller ever skip the lock,
    # the balance check constraint refuses an overdraft instead of losing it.
    CreditGrant.objects.filter(pk=grant.pk).update(
        balance=F("balance") + entry.signed_amount,
        ledger_at=created,
        status=grant.status,
    )
    grant.balance += entry.signed_amount
    grant.ledger_at = created
    event_emit(type="billing.credit_balance_transaction.created", instance=entry)
    return entry


def grant_catch_up(*, grant: CreditGrant, now: datetime) -> None:
    """Post what time has made due on a locked grant, each exactly once.

    At ``effective_at`` the whole amount is granted (``credits_granted``); at
    ``expires_at`` whatever is left expires (``credits_expired``).
    """
    if grant.status == Status.PENDING and grant.effective_at <= now:
        grant.status = Status.ACTIVE
        ledger_post(
            grant=grant,
            kind=Kind.CREDITS_GRANTED,
            amount=grant.amount,
            now=now,
            effective_at=grant.effective_at,
        )
    if (
        grant.status == Status.ACTIVE
        and grant.expires_at is not None
        and grant.expires_at <= now
    ):
        grant.status = Status.EXPIRED
        ledger_post(
            grant=grant,
            kind=Kind.CREDITS_EXPIRED,
            amount=grant.balance,
            now=now,
            effective_at=grant.expires_at,
        )
        grant.save(update_fields=["status"])
