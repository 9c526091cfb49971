"""The customer balance ledger: every change of ``Customer.balance``, explained.

Locking policy: the customer's row is locked (``select_for_update``) before its
balance is read for a write; billing services lock it last, after subscription
and invoice (``billing.services.finalize``). ``balance_move_locked`` is the one
place that moves the cached balance, in the transaction that appends the row, so
``customer.balance`` always equals the sum of the customer's rows. Amounts are
integers in the minor unit of the customer's currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max

from core.errors import InvalidRequest
from core.metadata import metadata_merge
from core.models import Customer, CustomerBalanceTransaction
from core.services.events import event_emit_updated, snapshot

Type = CustomerBalanceTransaction.Type


@dataclass(frozen=True)
class BalanceMove:
    """One change of a customer's balance: ``amount`` minor units (negative: credit)."""

    type: str
    amount: int
    currency: str | None
    invoice: str | None = None
    credit_note: str | None = None
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def balance_currency_check(
    customer: Customer, currency: str | None, *, param: str = "currency"
) -> None:
    """Refuse a balance movement in another currency than the customer's."""
    if currency and customer.currency and customer.currency != currency.lower():
        raise InvalidRequest(
            f"The customer's balance is in {customer.currency.upper()}; it cannot "
            f"take an amount in {currency.upper()}.",
            param=param,
        )


def customer_lock(customer_id: str) -> Customer:
    """Lock the customer's row (the last lock billing takes) and return it."""
    return Customer.objects.select_for_update().get(pk=customer_id)


def _next_sequence(customer: Customer) -> int:
    last = getattr(customer, "_balance_sequence", None)
    if last is None:
        last = (
            CustomerBalanceTransaction.objects.filter(customer=customer).aggregate(
                last=Max("sequence")
            )["last"]
            or 0
        )
    customer._balance_sequence = last + 1
    return last + 1


def balance_move_locked(
    *, customer: Customer, move: BalanceMove, now: datetime
) -> CustomerBalanceTransaction | None:
    """Append ``move`` for a customer this transaction has locked; nothing for 0.

    Saves the row and the customer's new balance (and currency, if it had none)
    together; ``customer`` is updated in memory too.
    """
    if move.amount == 0:
        return None
    balance_currency_check(customer, move.currency)
    if move.currency and not customer.currency:
        customer.currency = move.currency.lower()
    customer.balance += move.amount
    entry = CustomerBalanceTransaction.objects.create(
        customer=customer,
        sequence=_next_sequence(customer),
        type=move.type,
        amount=move.amount,
        ending_balance=customer.balance,
        currency=customer.currency,
        description=move.description,
        invoice=move.invoice,
        credit_note=move.credit_note,
        metadata=move.metadata,
        created=now,
        livemode=customer.livemode,
    )
    Customer.objects.filter(pk=customer.pk).update(
        balance=customer.balance, currency=customer.currency
    )
    return entry


def balance_move(
    *, customer_id: str, move: BalanceMove, now: datetime
) -> CustomerBalanceTransaction | None:
    """Lock the customer, append ``move``, emit ``customer.updated``."""
    with transaction.atomic():
        customer = customer_lock(customer_id)
        was = snapshot(customer)
        entry = balance_move_locked(customer=customer, move=move, now=now)
        event_emit_updated(type="customer.updated", instance=customer, before=was)
    return entry


def customer_balance_transaction_create(
    *, customer: Customer, params: dict[str, Any], now: datetime
) -> CustomerBalanceTransaction:
    """``POST /v1/customers/{id}/balance_transactions``: an ``adjustment``."""
    if params["amount"] == 0:
        raise InvalidRequest("The amount must not be zero.", param="amount")
    move = BalanceMove(
        type=Type.ADJUSTMENT,
        amount=params["amount"],
        currency=params["currency"].lower(),
        description=params.get("description"),
        metadata=metadata_merge({}, params.get("metadata") or {}),
    )
    return balance_move(customer_id=customer.pk, move=move, now=now)


@transaction.atomic
def customer_balance_transaction_update(
    *, entry: CustomerBalanceTransaction, params: dict[str, Any]
) -> CustomerBalanceTransaction:
    """Edit a row's description and metadata; its amounts never change."""
    entry = CustomerBalanceTransaction.objects.select_for_update().get(pk=entry.pk)
    if "description" in params:
        entry.description = params["description"]
    if "metadata" in params:
        entry.metadata = metadata_merge(entry.metadata, params["metadata"])
    entry.save(update_fields=["description", "metadata"])
    return entry


def customer_balance_set_locked(
    *, customer: Customer, balance: int, initial: bool, now: datetime
) -> CustomerBalanceTransaction | None:
    """Set a locked customer's balance (create/update ``balance``) through the ledger.

    The difference becomes one row: ``initial`` when the customer is created with
    a balance, ``adjustment`` afterwards.
    """
    move = BalanceMove(
        type=Type.INITIAL if initial else Type.ADJUSTMENT,
        amount=balance - customer.balance,
        currency=customer.currency,
    )
    return balance_move_locked(customer=customer, move=move, now=now)


def balance_for_invoice(customer: Customer, currency: str) -> int:
    """The balance an invoice in ``currency`` takes: none in another currency."""
    if customer.currency and customer.currency != currency:
        return 0
    return customer.balance


def invoice_balance_unapply(*, invoice_id: str, customer_id: str, now: datetime):
    """Give back what a voided invoice took from (or gave to) the balance.

    The caller holds the invoice's lock; the customer's is taken here. Nothing
    when the invoice moved no balance, or already gave it back.
    """
    kinds = (Type.APPLIED_TO_INVOICE, Type.UNAPPLIED_FROM_INVOICE)
    moved = sum(
        CustomerBalanceTransaction.objects.filter(
            invoice=invoice_id, type__in=kinds
        ).values_list("amount", flat=True)
    )
    if not moved:
        return None
    customer = customer_lock(customer_id)
    was = snapshot(customer)
    entry = balance_move_locked(
        customer=customer,
        move=BalanceMove(
            type=Type.UNAPPLIED_FROM_INVOICE,
            amount=-moved,
            currency=customer.currency,
            invoice=invoice_id,
        ),
        now=now,
    )
    event_emit_updated(type="customer.updated", instance=customer, before=was)
    return entry
