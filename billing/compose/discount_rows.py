"""Collect for the discount step: which discounts an invoice meets, read in bulk.

One query for a whole chunk of invoices reads every live discount that may
apply: their invoice items' own discounts, the one-off invoices' discounts, the
subscriptions' and the customers' own. Then, per invoice, with no query:
item discounts always; the invoice's own discounts if it has any; else the
subscription's that apply at the invoice's moment; else (as Stripe: a
subscription without discounts inherits its customer's) the customer's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from billing.compose.discount import DiscountCandidate, applies_at
from billing.models import Discount, Invoice


@dataclass(frozen=True)
class InvoiceDiscounts:
    """The discounts an invoice meets, in order, and which of them are ``once``."""

    candidates: tuple[DiscountCandidate, ...] = ()
    once: frozenset[str] = frozenset()

    def without(self, spent: set[str]) -> InvoiceDiscounts:
        """These discounts less ``once`` ones another invoice has just spent."""
        if not spent & self.once:
            return self
        return InvoiceDiscounts(
            tuple(c for c in self.candidates if c.discount_id not in spent),
            self.once - spent,
        )


def candidate_of(discount: Discount) -> DiscountCandidate:
    coupon = discount.coupon
    return DiscountCandidate(
        discount_id=discount.pk,
        percent_off=coupon.percent_off,
        amount_off=coupon.amount_off,
        currency=coupon.currency,
        products=frozenset(coupon.applies_to_products or ()),
        invoice_item_id=discount.invoice_item_id,
    )


def invoice_moment(invoice: Invoice) -> datetime:
    """When the invoice is made: an upcoming one at its period's end."""
    if invoice.billing_reason == "upcoming":
        return invoice.period_end
    return invoice.created


def _rows(invoices: Sequence[Invoice], item_ids: set[str]) -> list[Discount]:
    """Every live discount of the invoices' customers that one of them may meet.

    Every discount row names its customer, whichever level it applies at, so one
    short ``IN`` list finds them all (a chunk's four id lists cost more to send
    and plan than the few other rows it may bring); the rest is sorted out here.
    """
    invoice_ids = {invoice.pk for invoice in invoices}
    subscriptions = {inv.subscription_id for inv in invoices if inv.subscription_id}
    rows = (
        Discount.objects.filter(
            removed_at__isnull=True,
            customer_id__in={invoice.customer_id for invoice in invoices},
        )
        .select_related("coupon")
        .order_by("position", "created", "id")
    )
    return [
        row
        for row in rows
        if row.invoice_item_id in item_ids
        or row.invoice_id in invoice_ids
        or row.subscription_id in subscriptions
        or not (row.subscription_id or row.invoice_id or row.invoice_item_id)
    ]


def _applying(rows: Iterable[Discount], invoice: Invoice) -> list[Discount]:
    moment = invoice_moment(invoice)
    return [
        row
        for row in rows
        if applies_at(
            duration=row.coupon.duration,
            start=row.start,
            end=row.end,
            once_invoice_id=row.once_invoice_id,
            invoice_id=invoice.pk,
            moment=moment,
        )
    ]


def invoices_discounts_collect(
    invoices: Sequence[Invoice], item_ids: Mapping[str, set[str]]
) -> dict[str, InvoiceDiscounts]:
    """The discounts each invoice meets; ``item_ids`` are each invoice's items."""
    rows = _rows(invoices, set().union(*item_ids.values()) if item_ids else set())
    by_item, by_invoice = defaultdict(list), defaultdict(list)
    by_subscription, by_customer = defaultdict(list), defaultdict(list)
    for row in rows:
        if row.invoice_item_id:
            by_item[row.invoice_item_id].append(row)
        elif row.invoice_id:
            by_invoice[row.invoice_id].append(row)
        elif row.subscription_id:
            by_subscription[row.subscription_id].append(row)
        else:
            by_customer[row.customer_id].append(row)
    found = {}
    for invoice in invoices:
        chosen = [r for i in sorted(item_ids.get(invoice.pk, ())) for r in by_item[i]]
        level = by_invoice[invoice.pk] or _applying(
            by_subscription[invoice.subscription_id], invoice
        )
        if not by_invoice[invoice.pk] and not level:
            level = _applying(by_customer[invoice.customer_id], invoice)
        chosen += level
        found[invoice.pk] = InvoiceDiscounts(
            tuple(candidate_of(row) for row in chosen),
            frozenset(
                row.pk
                for row in level
                if row.coupon.duration == "once" and not row.invoice_id
            ),
        )
    return found


def invoice_discounts_collect(invoice: Invoice, lines: Sequence) -> InvoiceDiscounts:
    """``invoices_discounts_collect`` for one invoice and its lines (one query)."""
    items = {line.invoice_item_id for line in lines if line.invoice_item_id}
    return invoices_discounts_collect([invoice], {invoice.pk: items})[invoice.pk]
