"""Invoice items: one-off charges and credits, pending until an invoice takes them.

An item priced by a price, by ``price_data`` or by a unit amount is computed exactly
and rounded once (``amount = unit × quantity``); an ``amount`` is taken as given.
Attached to a draft invoice, an item is also one of its lines; once that invoice is
finalized the item can no longer change (``invoice_not_editable``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from billing import amounts
from billing.compose.rate import invoice_item_draft
from billing.compose.rows import spec_of
from billing.models import Invoice, InvoiceItem, InvoiceLineItem, Subscription
from billing.services.discounts import invoice_item_discounts_set
from billing.services.events import before, emit, emit_updated
from billing.services.persist import lines_create
from billing.taxes.rates import tax_rates_resolve
from catalog.models import Price, Product
from catalog.pricing import PriceSpec, price_amount
from core import clock
from core.errors import InvalidRequest, ResourceMissing
from core.metadata import metadata_merge
from core.models import Customer
from core.services.events import event_record

# Stripe's largest amount: 99,999,999.99 in a two-decimal currency.
MAX_AMOUNT = 99_999_999_999


def not_editable(invoice: Invoice) -> InvalidRequest:
    return InvalidRequest(
        f"Invoice {invoice.pk} is {invoice.status}: finalized invoices cannot be "
        "edited.",
        code="invoice_not_editable",
        param="invoice",
    )


def _check_amount(amount: int, param: str) -> int:
    if abs(amount) > MAX_AMOUNT:
        raise InvalidRequest(
            f"The amount must be at most {MAX_AMOUNT} minor units.",
            param=param,
            code="amount_too_large",
        )
    return amount


def _quantity(params: dict[str, Any]) -> Decimal:
    if params.get("quantity_decimal") is not None:
        return params["quantity_decimal"]
    return Decimal(params.get("quantity", 1))


def _priced(item: InvoiceItem, spec: PriceSpec, quantity: Decimal, param: str):
    line = price_amount(spec, quantity)
    item.amount = _check_amount(line.amount.minor_units, param)
    item.unit_amount_decimal = amounts.unit_amount_of(line.exact, quantity)
    if item.unit_amount_decimal is None:
        item.unit_amount_decimal = spec.unit_amount


def _apply_money(item: InvoiceItem, params: dict[str, Any]) -> None:
    """Set price, currency, quantity and amount from whichever way was given."""
    quantity = _quantity(params)
    price = params.get("price")
    if price is not None:
        if price.is_metered:
            raise InvalidRequest(
                "Metered prices bill usage on subscriptions, not as invoice items.",
                param="pricing[price]",
            )
        item.price, item.currency, item.quantity = price, price.currency, quantity
        _priced(item, spec_of(price), quantity, "pricing[price]")
        return
    unit, currency = params.get("unit_amount"), params.get("currency")
    if unit is not None:
        item.price, item.currency, item.quantity = None, currency, quantity
        spec = PriceSpec(currency=currency, unit_amount=unit)
        _priced(item, spec, quantity, "unit_amount_decimal")
        return
    amount = _check_amount(params["amount"], "amount")
    item.price, item.currency, item.quantity = None, currency, Decimal(1)
    item.amount, item.unit_amount_decimal = amount, Decimal(amount)


def money_params(params: dict[str, Any]) -> dict[str, Any]:
    """Normalise the ways an amount is given into price | unit_amount | amount."""
    price_data = params.get("price_data")
    money: dict[str, Any] = {
        "quantity": params.get("quantity", 1),
        "quantity_decimal": params.get("quantity_decimal"),
        "currency": params.get("currency"),
    }
    if params.get("price") is not None:
        money["price"] = _price(params["price"])
    elif price_data:
        money["currency"] = price_data["currency"]
        money["unit_amount"] = price_data["unit_amount"]
        if not Product.objects.filter(pk=price_data["product"]).exists():
            raise ResourceMissing.for_id(
                "product", price_data["product"], param="price_data[product]"
            )
    elif params.get("unit_amount_decimal") is not None:
        money["unit_amount"] = params["unit_amount_decimal"]
    elif params.get("amount") is not None:
        money["amount"] = params["amount"]
    else:
        raise InvalidRequest(
            "You must specify one of amount, pricing[price], price_data or "
            "unit_amount_decimal.",
            param="amount",
            code="parameter_missing",
        )
    if money.get("price") is None and not money["currency"]:
        raise InvalidRequest("Missing required param: currency.", param="currency")
    return money


def _price(price: Price | str) -> Price:
    if isinstance(price, Price):
        return price
    found = Price.objects.select_related("product").filter(pk=price).first()
    if found is None:
        raise ResourceMissing.for_id("price", price, param="pricing[price]")
    if not found.active:
        raise InvalidRequest(f"The price {price} is inactive.", param="pricing[price]")
    return found


def _target_invoice(customer: Customer, invoice_id: str | None) -> Invoice | None:
    if not invoice_id:
        return None
    invoice = (
        Invoice.objects.select_for_update()
        .filter(pk=invoice_id, customer=customer)
        .first()
    )
    if invoice is None:
        raise ResourceMissing.for_id("invoice", invoice_id, param="invoice")
    if not invoice.is_draft:
        raise not_editable(invoice)
    return invoice


def _target_subscription(customer, subscription_id) -> Subscription | None:
    if not subscription_id:
        return None
    subscription = Subscription.objects.filter(
        pk=subscription_id, customer=customer
    ).first()
    if subscription is None:
        raise ResourceMissing.for_id(
            "subscription", subscription_id, param="subscription"
        )
    return subscription


def invoice_recount(invoice: Invoice) -> None:
    """Recompute a draft's totals from its lines (amounts of drafts track edits)."""
    subtotal = sum(invoice.lines.values_list("amount", flat=True))
    invoice.subtotal = invoice.total = subtotal
    invoice.amount_due = invoice.amount_remaining = max(
        subtotal + invoice.starting_balance, 0
    )
    invoice.save(update_fields=["subtotal", "total", "amount_due", "amount_remaining"])


@transaction.atomic
def invoice_item_create(
    *, customer: Customer, params: dict[str, Any], now: datetime
) -> InvoiceItem:
    """Create an item: on a draft invoice (``invoice``) or pending for the next one."""
    invoice = _target_invoice(customer, params.get("invoice"))
    subscription = _target_subscription(customer, params.get("subscription"))
    item = InvoiceItem(
        customer=customer,
        invoice=invoice,
        subscription=subscription,
        test_clock_id=customer.test_clock_id,
        description=params.get("description"),
        date=now,
        discountable=params.get("discountable", True),
        metadata=params.get("metadata") or {},
        tax_rates=tax_rates_resolve(params.get("tax_rates"), param="tax_rates"),
        created=now,
        livemode=customer.livemode,
    )
    _apply_money(item, money_params(params))
    for target, name in ((invoice, "invoice"), (subscription, "subscription")):
        if target is not None and target.currency != item.currency:
            raise InvalidRequest(
                f"The currency {item.currency} does not match the {name}'s "
                f"currency ({target.currency}).",
                param="currency",
            )
    period = params.get("period") or {}
    item.period_start = period.get("start", now)
    item.period_end = period.get("end", now)
    item.save(force_insert=True)
    if params.get("discounts"):
        invoice_item_discounts_set(item=item, entries=params["discounts"], now=now)
    emit("invoiceitem.created", item)
    if invoice is not None:
        lines_create(invoice=invoice, drafts=[invoice_item_draft(item)], now=now)
        invoice_recount(invoice)
    return item


def _editable(item: InvoiceItem) -> Invoice | None:
    """Lock the item's invoice; refuse when it is finalized."""
    if item.invoice_id is None:
        return None
    invoice = Invoice.objects.select_for_update().get(pk=item.invoice_id)
    if not invoice.is_draft:
        raise not_editable(invoice)
    return invoice


@transaction.atomic
def invoice_item_update(*, item: InvoiceItem, params: dict[str, Any]) -> InvoiceItem:
    """Change a pending item or one on a draft (its line follows)."""
    item = InvoiceItem.objects.select_for_update().get(pk=item.pk)
    money_keys = {"amount", "price", "price_data", "unit_amount_decimal", "quantity"}
    money_keys |= {"quantity_decimal", "period", "description", "discountable"}
    money_keys |= {"tax_rates", "discounts"}
    invoice = None
    if money_keys & set(params):
        invoice = _editable(item)
    was = before(item)
    outside_amount = {"period", "description", "discountable", "tax_rates"}
    if (money_keys - outside_amount - {"discounts"}) & set(params):
        merged = {"currency": item.currency, "quantity": item.quantity, **params}
        if not ({"amount", "price", "price_data", "unit_amount_decimal"} & set(params)):
            if item.price is not None:
                merged["price"] = item.price
            else:
                merged["unit_amount_decimal"] = item.unit_amount_decimal
        currency = item.currency
        _apply_money(item, money_params(merged))
        if item.currency != currency:
            raise InvalidRequest(
                "An invoice item's currency cannot change.", param="currency"
            )
    if "description" in params:
        item.description = params["description"]
    if "discountable" in params:
        item.discountable = params["discountable"]
    if "period" in params:
        item.period_start = params["period"]["start"]
        item.period_end = params["period"]["end"]
    if "metadata" in params:
        item.metadata = metadata_merge(item.metadata, params["metadata"])
    if "tax_rates" in params:
        item.tax_rates = tax_rates_resolve(
            params["tax_rates"], param="tax_rates", keep=item.tax_rates
        )
    if "discounts" in params:
        invoice_item_discounts_set(
            item=item,
            entries=params["discounts"],
            now=clock.now_for_customer(item.customer),
        )
    item.save()
    if invoice is not None:
        _sync_line(invoice, item)
    emit_updated("invoiceitem.updated", item, was)
    return item


def _sync_line(invoice: Invoice, item: InvoiceItem) -> None:
    draft = invoice_item_draft(item)
    InvoiceLineItem.objects.filter(invoice=invoice, invoice_item_id=item.pk).update(
        amount=draft.amount,
        description=draft.description,
        period_start=draft.period_start,
        period_end=draft.period_end,
        price=draft.price,
        quantity=draft.quantity,
        unit_amount_decimal=draft.unit_amount_decimal,
        discountable=draft.discountable,
        metadata=draft.metadata,
        tax_rates=list(draft.tax_rates),
    )
    invoice_recount(invoice)


@transaction.atomic
def invoice_item_delete(*, item: InvoiceItem) -> None:
    """Delete a pending item or one on a draft (its line goes too)."""
    item = InvoiceItem.objects.select_for_update().get(pk=item.pk)
    invoice = _editable(item)
    data = before(item)
    if invoice is not None:
        InvoiceLineItem.objects.filter(
            invoice=invoice, invoice_item_id=item.pk
        ).delete()
        invoice_recount(invoice)
    item.delete()
    event_record(type="invoiceitem.deleted", data_object={**data, "deleted": True})
