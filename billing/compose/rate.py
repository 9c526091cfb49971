"""Step 2, rate: price every line with the pure engine (``catalog.pricing``).

Each line is computed exactly and rounded once, ROUND_HALF_UP, to minor units
(``billing.amounts``). A metered line bills price(usage) − price(usage already
billed for the same item and period), so tiers and a first tier's flat fee
continue across threshold invoices and late usage. No query: usage, billed
quantities and price specs come from ``collect``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from billing import amounts, descriptions
from billing.compose.collect import CycleInputs
from billing.compose.draft import DraftLine
from billing.compose.rows import cycle_of, spec_of
from billing.models import InvoiceItem, InvoiceLineItem, Subscription, SubscriptionItem
from billing.periods import fraction, next_boundary, period_containing
from catalog.models import Price

ZERO = Decimal(0)


def period_share(subscription: Subscription, start: datetime, end: datetime):
    """The share of a full billing period that ``[start, end)`` covers (exact)."""
    full_start, full_end = period_containing(cycle_of(subscription), start)
    return fraction(start, end, full_start, full_end)


def licensed_draft(
    *,
    item: SubscriptionItem,
    start: datetime,
    end: datetime,
    share: Decimal = amounts.ONE,
    trial: bool = False,
) -> DraftLine:
    """Seats of a licensed item for ``[start, end)``, ``share`` of a full period."""
    price, quantity = item.price, item.quantity or 0
    product = price.product.name
    if trial:
        priced = amounts.Priced(ZERO, 0, ZERO)
        text = descriptions.trial_line(product, quantity, start, end)
    else:
        priced = amounts.licensed_amount(spec_of(price), quantity, share)
        text = descriptions.licensed_line(product, quantity, start, end)
    return DraftLine(
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
        tax_rates=tuple(item.tax_rates),
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
    tax_rates: tuple[str, ...] = (),
) -> DraftLine:
    """Usage of a metered price over ``[start, end)``: ``total`` less ``already``."""
    priced = amounts.usage_amount(spec_of(price), total, already)
    quantity = max(max(total, ZERO) - max(already or ZERO, ZERO), ZERO)
    describe = descriptions.late_usage_line if late else descriptions.usage_line
    return DraftLine(
        kind=InvoiceLineItem.Kind.LATE_USAGE if late else InvoiceLineItem.Kind.METERED,
        amount=priced.amount,
        currency=price.currency,
        description=describe(
            product=_product_and_segment(price),
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
        tax_rates=tax_rates,
    )


def _product_and_segment(price: Price) -> str:
    """The product's name, and the segment a segment price bills: "Tokens (model:
    large)"; two prices of one meter then read apart on the invoice."""
    conditions = price.recurring_meter_segment_conditions
    if not conditions:
        return price.product.name
    segment = ", ".join(f"{c['dimension']}: {c['value']}" for c in conditions)
    return f"{price.product.name} ({segment})"


def item_usage_draft(
    *,
    item: SubscriptionItem,
    start: datetime,
    end: datetime,
    total: Decimal,
    already: Decimal | None = None,
    late: bool = False,
) -> DraftLine:
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
        tax_rates=tuple(item.tax_rates),
    )


def usage_placeholder(*, item: SubscriptionItem, start, end) -> DraftLine:
    """The zero line a first invoice shows per metered item (no usage yet)."""
    draft = item_usage_draft(item=item, start=start, end=end, total=ZERO)
    unit = spec_of(item.price).unit_amount or ZERO
    return replace(draft, amount=0, quantity=ZERO, unit_amount_decimal=unit)


def invoice_item_draft(item: InvoiceItem) -> DraftLine:
    """The line of an invoice item (one-off charge, proration, removed usage)."""
    return DraftLine(
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
        tax_rates=tuple(item.tax_rates),
    )


def pending_drafts(items) -> list[DraftLine]:
    return [invoice_item_draft(item) for item in items]


# ---- a period close ------------------------------------------------------------------


def arrears_drafts(inputs: CycleInputs) -> list[DraftLine]:
    """Metered usage of the ending period, after what threshold invoices billed;
    then usage of the period before that arrived after its invoice was final."""
    sub = inputs.subscription
    end = sub.current_period_end
    drafts = [
        item_usage_draft(
            item=item,
            start=item.current_period_start,
            end=end,
            total=inputs.usage[(item.pk, item.current_period_start, end)],
            already=inputs.billed.get((item.pk, item.current_period_start)),
        )
        for item in inputs.items
        if item.price.is_metered
    ]
    by_id = {item.pk: item for item in inputs.items}
    for item_id, start in inputs.late:
        total = inputs.usage[(item_id, start, sub.current_period_start)]
        billed = inputs.billed.get((item_id, start))
        if total > (billed or 0):
            item = by_id[item_id]
            drafts.append(
                usage_draft(
                    # The rate the period was billed at (a rate card's version
                    # may have changed since), else the item's.
                    price=inputs.late_prices.get((item_id, start), item.price),
                    subscription_id=item.subscription_id,
                    subscription_item_id=item.pk,
                    start=start,
                    end=sub.current_period_start,
                    total=total,
                    already=billed,
                    late=True,
                    tax_rates=tuple(item.tax_rates),
                )
            )
    return drafts


def cycle_drafts(
    inputs: CycleInputs, *, ending: bool
) -> tuple[list[DraftLine], datetime | None]:
    """The lines closing the current period, and the next period's end.

    Pending items, the period's usage in arrears (not for a trial, which is
    free), late usage of the period before, and unless the subscription ends,
    the next period's licensed prices in advance.
    """
    sub = inputs.subscription
    drafts = pending_drafts(inputs.pending)
    if sub.status != Subscription.Status.TRIALING:
        drafts += arrears_drafts(inputs)
    new_end = None
    if not ending:
        new_end = next_boundary(cycle_of(sub), sub.current_period_end)
        share = period_share(sub, sub.current_period_end, new_end)
        drafts += [
            licensed_draft(
                item=item, start=sub.current_period_end, end=new_end, share=share
            )
            for item in inputs.items
            if not item.price.is_metered
        ]
    return drafts, new_end


def usage_so_far_lines(
    *,
    items,
    end: datetime,
    usage: dict,
    billed: dict,
) -> list[DraftLine]:
    """Usage lines of metered items from their period start to ``end``.

    ``usage`` maps (item, start, end) to the raw usage, ``billed`` (item, start)
    to what earlier lines of the period billed (threshold invoices).
    """
    return [
        item_usage_draft(
            item=item,
            start=item.current_period_start,
            end=end,
            total=usage[(item.pk, item.current_period_start, end)],
            already=billed.get((item.pk, item.current_period_start)),
        )
        for item in items
        if item.price.is_metered and item.current_period_start < end
    ]
