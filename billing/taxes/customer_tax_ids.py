"""A customer's tax ids: add (checked), delete, list; and their invoice shape."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet

from billing.models import TaxId
from billing.services.events import before, emit
from billing.taxes.tax_ids import tax_id_check
from core.errors import InvalidRequest
from core.models import Customer
from core.services.events import event_record

MAX_TAX_IDS = 25  # per customer, as Stripe


@transaction.atomic
def tax_id_create(
    *, customer: Customer, tax_type: str, value: str, now: datetime
) -> TaxId:
    """Add a checked tax id to the customer (``customer.tax_id.created``)."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.deleted:
        raise InvalidRequest("The customer has been deleted.", param="customer")
    checked = tax_id_check(tax_type=tax_type, value=value)
    if TaxId.objects.filter(customer=customer).count() >= MAX_TAX_IDS:
        raise InvalidRequest(
            f"A customer can have at most {MAX_TAX_IDS} tax ids.", param="value"
        )
    tax_id = TaxId.objects.create(
        customer=customer,
        type=checked.type,
        value=checked.value,
        country=checked.country,
        created=now,
        livemode=customer.livemode,
    )
    emit("customer.tax_id.created", tax_id)
    return tax_id


@transaction.atomic
def tax_id_delete(*, tax_id: TaxId) -> None:
    """Remove a tax id (``customer.tax_id.deleted``); finalized invoices keep it."""
    data = before(tax_id)
    tax_id.delete()
    event_record(type="customer.tax_id.deleted", data_object={**data, "deleted": True})


def customer_details_apply(*, customer: Customer, details: dict) -> None:
    """Make ``customer_details`` the customer's, for a preview's rolled-back work.

    Only inside a transaction that is never committed (``invoice_preview``).
    """
    changed = {}
    if "address" in details:
        changed["address"] = details["address"]
    if details.get("tax_exempt") is not None:
        changed["tax_exempt"] = details["tax_exempt"]
    for key, value in changed.items():
        setattr(customer, key, value)
    if changed:
        Customer.objects.filter(pk=customer.pk).update(**changed)
    if "tax_ids" not in details:
        return
    TaxId.objects.filter(customer=customer).delete()
    for index, entry in enumerate(details["tax_ids"]):
        try:
            checked = tax_id_check(tax_type=entry["type"], value=entry["value"])
        except InvalidRequest as error:
            error.param = f"customer_details[tax_ids][{index}][{error.param}]"
            raise
        TaxId.objects.create(
            customer=customer,
            type=checked.type,
            value=checked.value,
            country=checked.country,
            created=customer.created + timedelta(microseconds=index),  # in order
            livemode=customer.livemode,
        )


def customer_tax_ids(*, customer_id: str) -> QuerySet[TaxId]:
    return TaxId.objects.filter(customer_id=customer_id)


def invoice_tax_id(tax_id: TaxId) -> dict:
    """A tax id as an invoice shows it (``customer_tax_ids[]``)."""
    return {"type": tax_id.type, "value": tax_id.value}


def tax_ids_by_customer(customer_ids: Iterable[str]) -> dict[str, list[dict]]:
    """Each customer's tax ids as invoices show them, oldest first; one query."""
    found: dict[str, list[dict]] = {pk: [] for pk in customer_ids}
    if not found:
        return found
    rows = TaxId._base_manager.filter(customer_id__in=list(found)).order_by(
        "created", "id"
    )
    for row in rows:
        found[row.customer_id].append(invoice_tax_id(row))
    return found
