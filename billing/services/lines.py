"""Building invoice lines: licensed seats, metered usage, late usage, invoice items.

Lines are first built as ``LineDraft`` values (so previews and tests can look at
them) and then written in one ``bulk_create``. Usage is read through
``UsageReader``, which reads many customers of one meter and period in one query
when a job handles many subscriptions at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet

from billing import amounts, descriptions
from billing.models import (
    Invoice,
    InvoiceItem,
    InvoiceLineItem,
    Subscription,
    SubscriptionItem,
)
from billing.periods import Cycle
from catalog.models import Price
from catalog.pricing import PriceSpec
from catalog.selectors import price_spec
from metering.selectors import meter_usage_for_customers, meter_usage_for_periods

ZERO = Decimal(0)
USAGE_KINDS = (InvoiceLineItem.Kind.METERED, InvoiceLineItem.Kind.LATE_USAGE)


def grace_period():
    """How long a period's draft waits for late usage before it finalizes."""
    return settings.TALLY_INVOICE_GRACE_PERIOD


def cycle_of(subscription: Subscription) -> Cycle:
    return Cycle(
        interval=subscription.interval,
        count=subscription.interval_count,
        anchor=subscription.billing_cycle_anchor,
        anchor_day=subscription.anchor_day,
    )


def items_with_prices(subscription: Subscription) -> QuerySet[SubscriptionItem]:
    """The subscription's items with price, product and meter loaded.

    Tiers are read once per price by ``spec_of`` (they never change).
    """
    return (
        SubscriptionItem.objects.filter(subscription=subscription)
        .select_related("price__product", "price__recurring_meter")
        .order_by("position", "created", "id")
    )


def items_by_subscription(
    subscription_ids: Iterable[str],
) -> dict[str, list[SubscriptionItem]]:
    """The items of many subscriptions (as ``items_with_prices``), in two queries."""
    by_subscription: dict[str, list[SubscriptionItem]] = {
        subscription_id: [] for subscription_id in subscription_ids
    }
    rows = list(
        SubscriptionItem.objects.filter(
            subscription_id__in=list(by_subscription)
        ).order_by("subscription_id", "position", "created", "id")
    )
    attach_prices(rows)
    for item in rows:
        by_subscription[item.subscription_id].append(item)
    return by_subscription


def attach_prices(rows: Sequence[SubscriptionItem | InvoiceLineItem]) -> None:
    """Give rows their prices (with product and meter), one object per price.

    One query however many rows: a chunk's thousands of items or lines share a
    handful of prices, so building them once per row would cost more than the
    query.
    """
    ids = {row.price_id for row in rows if row.price_id}
    prices = Price.objects.select_related("product", "recurring_meter").in_bulk(ids)
    for row in rows:
        if row.price_id:
            row.price = prices[row.price_id]


_specs: dict[str, PriceSpec] = {}


def spec_of(price: Price) -> PriceSpec:
    """The engine's view of ``price``; cached, since amounts and tiers never change."""
    spec = _specs.get(price.pk)
    if spec is None:
        spec = _specs[price.pk] = price_spec(price)
    return spec


@dataclass
class LineDraft:
    """An invoice line before it is written."""

    kind: str
    amount: int  # minor units, rounded once
    currency: str
    description: str
    period_start: datetime
    period_end: datetime
    price: Price | None = None
    quantity: Decimal | None = None
    unit_amount_decimal: Decimal | None = None
    subscription_id: str | None = None
    subscription_item_id: str | None = None
    invoice_item_id: str | None = None
    proration: bool = False
    proration_details: dict | None = None
    discountable: bool = True
    metadata: dict = field(default_factory=dict)


def lines_create(
    *, invoice: Invoice, drafts: Iterable[LineDraft], now: datetime
) -> list[InvoiceLineItem]:
    """Append ``drafts`` to a draft invoice, after its existing lines."""
    last = getattr(invoice, "_last_position", None)
    if last is None:
        last = (
            invoice.lines.order_by("-position")
            .values_list("position", flat=True)
            .first()
        )
        last = -1 if last is None else last
    rows = [
        line_from_draft(invoice=invoice, position=position, draft=draft, now=now)
        for position, draft in enumerate(drafts, start=last + 1)
    ]
    if rows:
        InvoiceLineItem.objects.bulk_create(rows)
        invoice._last_position = rows[-1].position
    return rows


def line_from_draft(
    *, invoice: Invoice, position: int, draft: LineDraft, now: datetime
) -> InvoiceLineItem:
    """An (unsaved) line of ``invoice`` made from ``draft``."""
    return InvoiceLineItem(
        invoice=invoice,
        position=position,
        kind=draft.kind,
        amount=draft.amount,
        currency=draft.currency,
        description=draft.description,
        period_start=draft.period_start,
        period_end=draft.period_end,
        price=draft.price,
        quantity=draft.quantity,
        unit_amount_decimal=draft.unit_amount_decimal,
        subscription_id=draft.subscription_id,
        subscription_item_id=draft.subscription_item_id,
        invoice_item_id=draft.invoice_item_id,
        proration=draft.proration,
        proration_details=draft.proration_details,
        discountable=draft.discountable,
        metadata=draft.metadata,
        created=now,
        livemode=invoice.livemode,
    )


# ---- usage ----------------------------------------------------------------------


class UsageReader:
    """Reads metered usage, announced reads together in one query.

    ``expect`` announces the reads a job will make. The first read of a (meter,
    period) announced for several customers answers all of them with one grouped
    query (``meter_usage_for_customers``); the first read of a customer announced
    alone reads that customer's other lone reads with it, every meter and period
    in one query (``meter_usage_for_periods``). Later reads come from memory;
    unannounced ones go to the database one by one. Values are raw (may be
    negative).
    """

    def __init__(self) -> None:
        self._values: dict[tuple, Decimal] = {}
        self._expected: dict[tuple, set[str]] = defaultdict(set)
        self._keys_of: dict[str, set[tuple]] = defaultdict(set)

    def expect(self, meter, customer_id: str, start: datetime, end: datetime) -> None:
        if start < end and (meter.pk, customer_id, start, end) not in self._values:
            self._expected[(meter, start, end)].add(customer_id)
            self._keys_of[customer_id].add((meter, start, end))

    def usage(self, meter, customer_id: str, start: datetime, end: datetime):
        if start >= end:
            return ZERO
        key = (meter.pk, customer_id, start, end)
        if key not in self._values:
            self._read(meter, customer_id, start, end)
        return self._values[key]

    def _read(self, meter, customer_id: str, start: datetime, end: datetime) -> None:
        customers = self._expected.pop((meter, start, end), set()) | {customer_id}
        if len(customers) > 1:
            found = meter_usage_for_customers(
                meter=meter, customer_ids=customers, start=start, end=end
            )
            for customer in customers:
                self._store(meter, customer, start, end, found.get(customer, ZERO))
            return
        alone = [
            key
            for key in self._keys_of.pop(customer_id, ())
            if self._expected.get(key) == {customer_id}
        ]
        for key in alone:
            del self._expected[key]
        reads = [(meter, start, end), *alone]
        values = meter_usage_for_periods(customer_id=customer_id, reads=reads)
        for (meter, start, end), value in zip(reads, values, strict=True):
            self._store(meter, customer_id, start, end, value)

    def _store(self, meter, customer_id, start, end, value: Decimal) -> None:
        self._values[(meter.pk, customer_id, start, end)] = value


def billed_usage(
    *, keys: Iterable[tuple[str, datetime]], exclude_invoice_id: str | None = None
) -> dict[tuple[str, datetime], Decimal]:
    """Usage already billed per (subscription item, period start).

    A key is present only when an earlier line billed something for it (a usage
    quantity or an amount such as a base fee); zero placeholder lines of a first
    invoice bill nothing.
    """
    keys = set(keys)
    return billed_totals(
        row[1:] for row in _billed_rows(keys) if row[0] != exclude_invoice_id
    )


def billed_usage_by_invoice(
    *, keys: dict[str, set[tuple[str, datetime]]]
) -> dict[str, dict[tuple[str, datetime], Decimal]]:
    """``billed_usage`` of each invoice's keys on the other invoices, one query."""
    rows: dict[tuple[str, datetime], list[tuple]] = defaultdict(list)
    for row in _billed_rows(set().union(*keys.values())):
        rows[row[1:3]].append(row)
    return {
        invoice_id: billed_totals(
            row[1:]
            for key in wanted
            for row in rows.get(key, ())
            if row[0] != invoice_id
        )
        for invoice_id, wanted in keys.items()
    }


def _billed_rows(keys: set[tuple[str, datetime]]) -> list[tuple]:
    """(invoice, item, start, quantity, amount) of the usage lines with ``keys``."""
    if not keys:
        return []
    rows = InvoiceLineItem.objects.filter(
        kind__in=USAGE_KINDS,
        subscription_item_id__in={item for item, _ in keys},
        period_start__in={start for _, start in keys},
    ).values_list(
        "invoice_id", "subscription_item_id", "period_start", "quantity", "amount"
    )
    return [row for row in rows if row[1:3] in keys]


def billed_totals(rows) -> dict[tuple[str, datetime], Decimal]:
    """Sum (item, start, quantity, amount) rows of lines that billed something."""
    totals: dict[tuple[str, datetime], Decimal] = {}
    for item_id, start, quantity, amount in rows:
        quantity = quantity or ZERO
        if quantity > 0 or amount != 0:
            key = (item_id, start)
            totals[key] = totals.get(key, ZERO) + quantity
    return totals


# ---- drafts of each kind -----------------------------------------------------------


def licensed_draft(
    *,
    item: SubscriptionItem,
    start: datetime,
    end: datetime,
    share: Decimal = amounts.ONE,
    trial: bool = False,
) -> LineDraft:
    """Seats of a licensed item for ``[start, end)``, ``share`` of a full period."""
    price, quantity = item.price, item.quantity or 0
    product = price.product.name
    if trial:
        priced = amounts.Priced(ZERO, 0, ZERO)
        text = descriptions.trial_line(product, quantity, start, end)
    else:
        priced = amounts.licensed_amount(spec_of(price), quantity, share)
        text = descriptions.licensed_line(product, quantity, start, end)
    return LineDraft(
        kind=InvoiceLineItem.Kind.LICENSED,
        amount=priced.amount,
        currency=price.currency,
        description=text,
        period_start=start,
        period_end=end,
        price=price,
        quantity=Decimal(quantity),
        unit_amount_decimal=priced.unit_amount_decimal,
        subscription_id=item.subscription_id,
        subscription_item_id=item.pk,
    )


def usage_draft(
    *,
    price: Price,
    subscription_id: str | None,
    subscription_item_id: str | None,
    start: datetime,
    end: datetime,
    total: Decimal,
    already: Decimal | None = None,
    late: bool = False,
) -> LineDraft:
    """Usage of a metered price over ``[start, end)``: ``total`` less ``already``."""
    priced = amounts.usage_amount(spec_of(price), total, already)
    quantity = max(max(total, ZERO) - max(already or ZERO, ZERO), ZERO)
    describe = descriptions.late_usage_line if late else descriptions.usage_line
    return LineDraft(
        kind=InvoiceLineItem.Kind.LATE_USAGE if late else InvoiceLineItem.Kind.METERED,
        amount=priced.amount,
        currency=price.currency,
        description=describe(
            product=price.product.name,
            unit_label=price.product.unit_label,
            quantity=quantity,
            start=start,
            end=end,
        ),
        period_start=start,
        period_end=end,
        price=price,
        quantity=quantity,
        unit_amount_decimal=priced.unit_amount_decimal,
        subscription_id=subscription_id,
        subscription_item_id=subscription_item_id,
    )


def item_usage_draft(
    *,
    item: SubscriptionItem,
    start: datetime,
    end: datetime,
    total: Decimal,
    already: Decimal | None = None,
    late: bool = False,
) -> LineDraft:
    """Usage of a subscription's metered item over ``[start, end)``."""
    return usage_draft(
        price=item.price,
        subscription_id=item.subscription_id,
        subscription_item_id=item.pk,
        start=start,
        end=end,
        total=total,
        already=already,
        late=late,
    )


def usage_placeholder(*, item: SubscriptionItem, start, end) -> LineDraft:
    """The zero line a first invoice shows per metered item (no usage yet)."""
    draft = item_usage_draft(item=item, start=start, end=end, total=ZERO)
    draft.amount, draft.quantity = 0, ZERO
    draft.unit_amount_decimal = spec_of(item.price).unit_amount or ZERO
    return draft


def invoice_item_draft(item: InvoiceItem) -> LineDraft:
    """The line of an invoice item (one-off charge, proration, removed usage)."""
    return LineDraft(
        kind=InvoiceLineItem.Kind.INVOICE_ITEM,
        amount=item.amount,
        currency=item.currency,
        description=item.description or "",
        period_start=item.period_start,
        period_end=item.period_end,
        price=item.price,
        quantity=item.quantity,
        unit_amount_decimal=item.unit_amount_decimal,
        subscription_id=item.subscription_id,
        subscription_item_id=item.subscription_item_id,
        invoice_item_id=item.pk,
        proration=item.proration,
        proration_details=item.proration_details,
        discountable=item.discountable,
        metadata=dict(item.metadata),
    )
