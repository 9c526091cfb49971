"""Customers: create, update, delete."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction

from core import clock
from core.errors import InvalidRequest
from core.metadata import metadata_merge
from core.models import Customer, TestClock
from core.services.balance import customer_balance_set_locked
from core.services.events import event_emit, event_emit_updated, event_record, snapshot

_PREFIX_ALPHABET = string.ascii_uppercase + string.digits
# Fields copied as given from validated parameters to the model.
_PLAIN_FIELDS = (
    "name",
    "email",
    "description",
    "phone",
    "address",
    "shipping",
    "invoice_prefix",
    "next_invoice_sequence",
    "preferred_locales",
    "tax_exempt",
)
# Run inside the deleting transaction (billing cancels subscriptions here).
_delete_hooks: list[Callable[[Customer], None]] = []
# Run when a customer's invoice prefix or next sequence changes; each raises
# InvalidRequest to refuse it (billing: a number one of its invoices already has).
_numbering_checks: list[Callable[[Customer], None]] = []


# Check that a ``pm_`` id may be a default of this customer (payments registers it:
# the method exists in the customer's mode and is attached to them); each raises
# InvalidRequest / ResourceMissing to refuse it.
_payment_method_checks: list[Callable[[Customer, str, str], None]] = []


def on_default_payment_method_check(check: Callable[[Customer, str, str], None]):
    if check not in _payment_method_checks:
        _payment_method_checks.append(check)


def default_payment_method_check(
    *, customer: Customer, payment_method: str, param: str
) -> None:
    """Refuse a default payment method the customer does not have."""
    if not _payment_method_checks:
        raise InvalidRequest(
            f"No such PaymentMethod: '{payment_method}'",
            param=param,
            code="resource_missing",
        )
    for check in _payment_method_checks:
        check(customer, payment_method, param)


# Run after a customer is created or updated, in its transaction, with the
# parameters (billing: ``coupon`` / ``promotion_code`` into its discount).
_saved_hooks: list[Callable[..., None]] = []


def on_customer_saved(hook: Callable[..., None]) -> None:
    """Call ``hook(customer, params, created=bool)`` after each create/update."""
    if hook not in _saved_hooks:
        _saved_hooks.append(hook)


def _run_saved_hooks(customer: Customer, params: dict[str, Any], *, created: bool):
    for hook in _saved_hooks:
        hook(customer, params, created=created)


def on_customer_deleted(hook: Callable[[Customer], None]) -> None:
    if hook not in _delete_hooks:
        _delete_hooks.append(hook)


def on_invoice_numbering_change(check: Callable[[Customer], None]) -> None:
    if check not in _numbering_checks:
        _numbering_checks.append(check)


def invoice_numbering_check(customer: Customer) -> None:
    """Refuse (InvalidRequest) the customer's prefix and next sequence if the next
    invoice number they make is taken."""
    for check in _numbering_checks:
        check(customer)


def _new_invoice_prefix() -> str:
    return "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(8))


def _apply(customer: Customer, params: dict[str, Any]) -> None:
    for field in _PLAIN_FIELDS:
        if field in params:
            value = params[field]
            if field in ("next_invoice_sequence", "tax_exempt") and value is None:
                continue
            if field == "preferred_locales" and value is None:
                value = []
            setattr(customer, field, value)
    if "invoice_settings" in params:
        settings_update = params["invoice_settings"] or {}
        if settings_update.get("default_payment_method"):
            default_payment_method_check(
                customer=customer,
                payment_method=settings_update["default_payment_method"],
                param="invoice_settings[default_payment_method]",
            )
        customer.invoice_settings = {**customer.invoice_settings, **settings_update}
    if "metadata" in params:
        customer.metadata = metadata_merge(customer.metadata, params["metadata"])


def _save_with_prefix(customer: Customer, *, generated: bool) -> None:
    for _ in range(5):
        try:
            with transaction.atomic():
                customer.save()
            return
        except IntegrityError as exc:
            if not generated or "prefix" not in str(exc).lower():
                raise InvalidRequest(
                    f"The invoice prefix {customer.invoice_prefix!r} is already "
                    "in use.",
                    param="invoice_prefix",
                ) from exc
            customer.invoice_prefix = _new_invoice_prefix()
    raise InvalidRequest(
        "Could not allocate an invoice prefix.", param="invoice_prefix"
    )


@transaction.atomic
def customer_create(
    *, params: dict[str, Any], test_clock: TestClock | None = None
) -> Customer:
    """Create a customer, attached to ``test_clock`` if given (for good).

    The customer takes the active mode (``core.modes``); test clocks exist in test
    mode only, so a live customer cannot be attached to one.
    """
    customer = Customer(test_clock=test_clock, created=clock.now_for_clock(test_clock))
    if test_clock is not None and customer.livemode != test_clock.livemode:
        raise InvalidRequest(
            "Test clocks can only be used in test mode; a live mode customer cannot "
            "be attached to one.",
            param="test_clock",
        )
    _apply(customer, params)
    generated = not customer.invoice_prefix
    if generated:
        customer.invoice_prefix = _new_invoice_prefix()
    _save_with_prefix(customer, generated=generated)
    if params.get("balance"):
        customer_balance_set_locked(
            customer=customer,
            balance=params["balance"],
            initial=True,
            now=customer.created,
        )
    _run_saved_hooks(customer, params, created=True)
    event_emit(type="customer.created", instance=customer)
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, params: dict[str, Any]) -> Customer:
    """Update the given fields; ``None`` clears an optional field."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    before = snapshot(customer)
    _apply(customer, params)
    if "invoice_prefix" in params or "next_invoice_sequence" in params:
        invoice_numbering_check(customer)
    if params.get("balance") is not None:
        # Through the ledger: the difference becomes an ``adjustment`` row.
        customer_balance_set_locked(
            customer=customer,
            balance=params["balance"],
            initial=False,
            now=clock.now_for_customer(customer),
        )
    _save_with_prefix(customer, generated=False)
    _run_saved_hooks(customer, params, created=False)
    event_emit_updated(type="customer.updated", instance=customer, before=before)
    return customer


@transaction.atomic
def customer_delete(*, customer: Customer) -> Customer:
    """Delete a customer: it disappears from the API, its invoices stay readable."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.deleted:
        return customer
    for hook in _delete_hooks:
        hook(customer)
    data = snapshot(customer)
    customer.deleted = True
    customer.save(update_fields=["deleted"])
    event_record(type="customer.deleted", data_object=data)
    return customer
