"""Step 1, collect: every read the pipeline needs, in bulk, before any step runs.

For a chunk of subscriptions it reads, one query per kind of data: the usage of
each metered item over its period (one grouped query per meter and period, see
``UsageReader``), the usage lines already written for the current and previous
periods (what threshold invoices billed, whether the previous period's invoice
is final), and the pending invoice items. It returns one frozen
``CycleInputs`` per subscription; ``rate`` turns them into lines without a
query. Items and prices arrive loaded (``billing.services.lines``); their price
specs are read here, once per price, so ``rate`` finds them cached.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Q

from billing.compose.rows import USAGE_KINDS, cycle_of, former_prices, spec_of
from billing.models import (
    Invoice,
    InvoiceItem,
    InvoiceLineItem,
    Subscription,
    SubscriptionItem,
)
from billing.periods import period_containing
from catalog.models import Price
from metering.dimensions import Segment, segment_of
from metering.selectors import meter_usage_for_customers, meter_usage_for_periods

ZERO = Decimal(0)

UsageKey = tuple[str, datetime, datetime]  # (subscription item, start, end)
BilledKey = tuple[str, datetime]  # (subscription item, period start)


class UsageReader:
    """Reads metered usage, announced reads together in one query.

    ``expect`` announces the reads a job will make. The first read of a (meter,
    period) announced for several customers answers all of them with one grouped
    query (``meter_usage_for_customers``); the first read of a customer announced
    alone reads that customer's other lone reads with it, every meter and period
    in one query (``meter_usage_for_periods``). Later reads come from memory;
    unannounced ones go to the database one by one. Values are raw (may be
    negative).

    A read is of a meter, or of one segment of it (a price's
    ``meter_segment_conditions``): ``expect_price`` and ``price_usage`` read the
    usage a metered price bills.
    """

    def __init__(self) -> None:
        self._values: dict[tuple, Decimal] = {}
        self._expected: dict[tuple, set[str]] = defaultdict(set)
        self._keys_of: dict[str, set[tuple]] = defaultdict(set)

    def expect(
        self, meter, customer_id: str, start: datetime, end: datetime, segment=None
    ) -> None:
        if (
            start < end
            and (meter.pk, segment, customer_id, start, end) not in self._values
        ):
            self._expected[(meter, start, end, segment)].add(customer_id)
            self._keys_of[customer_id].add((meter, start, end, segment))

    def usage(
        self, meter, customer_id: str, start: datetime, end: datetime, segment=None
    ):
        if start >= end:
            return ZERO
        key = (meter.pk, segment, customer_id, start, end)
        if key not in self._values:
            self._read(meter, customer_id, start, end, segment)
        return self._values[key]

    def expect_price(self, price, customer_id: str, start, end) -> None:
        """``expect`` the usage a metered price bills (its segment of its meter)."""
        self.expect(
            price.recurring_meter, customer_id, start, end, price_segment(price)
        )

    def price_usage(self, price, customer_id: str, start, end) -> Decimal:
        """The raw usage a metered price bills over ``[start, end)``."""
        return self.usage(
            price.recurring_meter, customer_id, start, end, price_segment(price)
        )

    def _read(self, meter, customer_id: str, start, end, segment) -> None:
        read = (meter, start, end, segment)
        customers = self._expected.pop(read, set()) | {customer_id}
        if len(customers) > 1:
            found = meter_usage_for_customers(
                meter=meter,
                customer_ids=customers,
                start=start,
                end=end,
                segment=segment,
            )
            for customer in customers:
                self._store(read, customer, found.get(customer, ZERO))
            return
        alone = [
            key
            for key in self._keys_of.pop(customer_id, ())
            if self._expected.get(key) == {customer_id}
        ]
        for key in alone:
            del self._expected[key]
        reads = [read, *alone]
        values = meter_usage_for_periods(customer_id=customer_id, reads=reads)
        for each, value in zip(reads, values, strict=True):
            self._store(each, customer_id, value)

    def _store(self, read: tuple, customer_id: str, value: Decimal) -> None:
        meter, start, end, segment = read
        self._values[(meter.pk, segment, customer_id, start, end)] = value


def price_segment(price) -> Segment | None:
    """The segment of its meter a metered price bills; None: all its usage."""
    return segment_of(price.recurring_meter_segment_conditions)


# ---- what earlier invoices billed ------------------------------------------------


def billed_totals(rows) -> dict[BilledKey, Decimal]:
    """Sum (item, start, quantity, amount) rows of lines that billed something.

    A key is present only when a line billed something for it (a usage quantity
    or an amount such as a base fee); zero lines bill nothing.
    """
    totals: dict[BilledKey, Decimal] = {}
    for item_id, start, quantity, amount in rows:
        quantity = quantity or ZERO
        if quantity > 0 or amount != 0:
            key = (item_id, start)
            totals[key] = totals.get(key, ZERO) + quantity
    return totals


def _billed_rows(keys: set[BilledKey]) -> list[tuple]:
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


def billed_usage(
    *, keys: Iterable[BilledKey], exclude_invoice_id: str | None = None
) -> dict[BilledKey, Decimal]:
    """Usage already billed per (subscription item, period start), one query."""
    keys = set(keys)
    return billed_totals(
        row[1:] for row in _billed_rows(keys) if row[0] != exclude_invoice_id
    )


def billed_usage_by_invoice(
    *, keys: dict[str, set[BilledKey]]
) -> dict[str, dict[BilledKey, Decimal]]:
    """``billed_usage`` of each invoice's keys on the other invoices, one query."""
    rows: dict[BilledKey, list[tuple]] = defaultdict(list)
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


# ---- a period close's inputs ---------------------------------------------------------


@dataclass(frozen=True)
class CycleInputs:
    """What closing one subscription's current period reads, read beforehand.

    ``usage`` holds the raw usage of each metered item over its period and of
    each previous period with late usage; ``billed`` what earlier lines billed
    per (item, period start), every line of the period counted (threshold
    invoices included); ``late`` the previous periods whose invoices are all
    final, so usage that reached them late is billed now, at ``late_prices`` if
    the item's price changed since (``rows.former_prices``).
    """

    subscription: Subscription
    items: tuple[SubscriptionItem, ...]
    pending: tuple[InvoiceItem, ...]
    usage: Mapping[UsageKey, Decimal]
    billed: Mapping[BilledKey, Decimal]
    late: tuple[BilledKey, ...]
    late_prices: Mapping[BilledKey, Price] = field(default_factory=dict)


def _previous_start(sub: Subscription) -> datetime:
    start, _ = period_containing(
        cycle_of(sub), sub.current_period_start - timedelta(seconds=1)
    )
    return max(start, sub.start_date)


def _usage_rows(metered: list[SubscriptionItem], since: datetime) -> list[tuple]:
    """Usage lines of the items ending after ``since``: (sub, item, start, end,
    quantity, amount, invoice status, price), one query."""
    if not metered:
        return []
    return list(
        InvoiceLineItem.objects.filter(
            kind__in=USAGE_KINDS,
            subscription_item_id__in=[item.pk for item in metered],
            period_end__gt=since,
        ).values_list(
            "subscription_id",
            "subscription_item_id",
            "period_start",
            "period_end",
            "quantity",
            "amount",
            "invoice__status",
            "price_id",
        )
    )


def pending_items_of(
    subs: Sequence[Subscription], *, lock: bool, customers: set[str] | None = None
) -> dict[str, tuple[InvoiceItem, ...]]:
    """Pending items each subscription's next invoice takes, newest first.

    Items scoped to the subscription, and the customer's unscoped ones in the
    subscription's currency (given to the first such subscription, by id, so no
    item is billed twice). ``customers`` are those known to have pending items
    (None: one cheap read finds them); the items are read in one query, and not
    at all when no subscription's customer has any.
    """
    if customers is None:  # most have none: a cheap read says which do
        customers = set(
            InvoiceItem.objects.filter(
                invoice__isnull=True,
                customer_id__in={sub.customer_id for sub in subs},
            ).values_list("customer_id", flat=True)
        )
    wanted = [sub for sub in subs if sub.customer_id in customers]
    found: dict[str, list[InvoiceItem]] = {sub.pk: [] for sub in subs}
    if not wanted:
        return {pk: () for pk in found}
    rows = InvoiceItem.objects.filter(
        customer_id__in={sub.customer_id for sub in wanted}, invoice__isnull=True
    ).filter(
        Q(subscription_id__in=[sub.pk for sub in wanted]) | Q(subscription__isnull=True)
    )
    if lock:
        rows = rows.select_for_update(of=("self",))
    first_of: dict[tuple[str, str], str] = {}
    for sub in sorted(wanted, key=lambda sub: sub.pk):
        first_of.setdefault((sub.customer_id, sub.currency), sub.pk)
    currency_of = {sub.pk: sub.currency for sub in wanted}
    # Newest first; items made at one moment (a change's prorations) by amount,
    # so credits come before charges and a preview lists them as the invoice.
    for item in rows.select_related("price").order_by("-created", "amount", "id"):
        owner = item.subscription_id or first_of.get((item.customer_id, item.currency))
        if owner in currency_of and currency_of[owner] == item.currency:
            found[owner].append(item)
    return {pk: tuple(items) for pk, items in found.items()}


def cycles_collect(
    subs: Sequence[Subscription],
    usage: UsageReader,
    *,
    pending: set[str] | None = None,
    lock: bool = True,
) -> dict[str, CycleInputs]:
    """Read what closing the subscriptions' current periods needs, all at once.

    Subscriptions arrive with ``_loaded_items``. ``pending`` names the customers
    known to have pending items (None: read). ``lock`` locks the pending items
    (a close; a preview reads them unlocked).
    """
    metered = [i for sub in subs for i in sub._loaded_items if i.price.is_metered]
    for sub in subs:
        for item in sub._loaded_items:
            spec_of(item.price)  # read here, so ``rate`` finds it cached
    since = min((_previous_start(sub) for sub in subs), default=None)
    rows_of: dict[str, list[tuple]] = defaultdict(list)
    for row in _usage_rows(metered, since) if since else ():
        rows_of[row[0]].append(row[1:])
    keys: dict[str, list[tuple]] = {}
    for sub in subs:
        keys[sub.pk] = _usage_keys(sub, rows_of[sub.pk])
        for item, start, end in keys[sub.pk]:
            usage.expect_price(item.price, sub.customer_id, start, end)
    items_pending = pending_items_of(subs, lock=lock, customers=pending)
    prices = former_prices(subs, rows_of)
    return {
        sub.pk: _inputs(
            sub, rows_of[sub.pk], keys[sub.pk], items_pending, usage, prices
        )
        for sub in subs
    }


def _late_keys(sub: Subscription, rows: list[tuple]) -> list[BilledKey]:
    """Previous periods whose lines end at this period's start, all final."""
    states: dict[BilledKey, set[str]] = defaultdict(set)
    for item_id, start, end, _quantity, _amount, status, _price in rows:
        if end == sub.current_period_start and start < end:
            states[(item_id, start)].add(status)
    return [key for key, seen in states.items() if Invoice.Status.DRAFT not in seen]


def _usage_keys(sub: Subscription, rows: list[tuple]) -> list[tuple]:
    """(item, start, end) of every usage read the subscription's close makes."""
    by_id = {item.pk: item for item in sub._loaded_items if item.price.is_metered}
    reads = [
        (item, item.current_period_start, sub.current_period_end)
        for item in by_id.values()
    ]
    reads += [
        (by_id[item_id], start, sub.current_period_start)
        for item_id, start in _late_keys(sub, rows)
        if item_id in by_id
    ]
    return reads


def _inputs(sub, rows, reads, pending, usage: UsageReader, prices) -> CycleInputs:
    values = {
        (item.pk, start, end): usage.price_usage(
            item.price, sub.customer_id, start, end
        )
        for item, start, end in reads
    }
    read = {
        (item.pk, start) for item, start, end in reads if end != sub.current_period_end
    }
    late = tuple(key for key in _late_keys(sub, rows) if key in read)
    return CycleInputs(
        subscription=sub,
        items=tuple(sub._loaded_items),
        pending=pending[sub.pk],
        usage=values,
        billed=billed_totals(
            (item_id, start, quantity, amount)
            for item_id, start, _end, quantity, amount, _status, _price in rows
        ),
        late=late,
        late_prices={r[:2]: prices[r[6]] for r in rows if r[6] in prices},
    )


def usage_so_far_collect(
    *,
    customer_id: str,
    items: Sequence[SubscriptionItem],
    end: datetime,
    usage: UsageReader,
) -> tuple[dict[UsageKey, Decimal], dict[BilledKey, Decimal]]:
    """Usage of the metered items from their period start to ``end``, and what
    earlier lines of those periods billed (threshold invoices); two reads."""
    metered = [
        item
        for item in items
        if item.price.is_metered and item.current_period_start < end
    ]
    for item in metered:
        spec_of(item.price)
        usage.expect_price(item.price, customer_id, item.current_period_start, end)
    values = {
        (item.pk, item.current_period_start, end): usage.price_usage(
            item.price, customer_id, item.current_period_start, end
        )
        for item in metered
    }
    billed = billed_usage(keys={(i.pk, i.current_period_start) for i in metered})
    return values, billed
