"""The usage behind each metered line: meter, period, quantity and tiers.

A metered line bills price(usage to date) − price(usage billed before for the
same item and period), so tiers continue across threshold invoices and late
usage (``billing.amounts.usage_amount``). The breakdown shows the same: the
tiers of the usage to date, less what earlier lines billed.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from billing.compose.collect import billed_totals
from billing.compose.rows import USAGE_KINDS, spec_of
from billing.descriptions import format_units, unit_name
from billing.documents.document import UsageDetail
from billing.models import InvoiceLineItem
from catalog.pricing import describe_line, price_amount
from core.money import format_minor

ZERO = Decimal(0)


def _is_usage(line: InvoiceLineItem) -> bool:
    return line.kind in USAGE_KINDS and line.price_id is not None


def billed_before(lines: Sequence[InvoiceLineItem]) -> dict[str, Decimal]:
    """Per usage line: the usage earlier lines billed for its item and period."""
    usage = [line for line in lines if _is_usage(line) and line.subscription_item_id]
    if not usage:
        return {}
    rows = InvoiceLineItem.objects.filter(
        kind__in=USAGE_KINDS,
        subscription_item_id__in={line.subscription_item_id for line in usage},
        period_start__in={line.period_start for line in usage},
    ).values_list(
        "subscription_item_id", "period_start", "quantity", "amount", "created", "id"
    )
    rows = list(rows)
    found = {}
    for line in usage:
        earlier = billed_totals(
            (item, start, quantity, amount)
            for item, start, quantity, amount, created, pk in rows
            if (item, start) == (line.subscription_item_id, line.period_start)
            and (created, pk) < (line.created, line.pk)
        )
        found[line.pk] = earlier.get((line.subscription_item_id, line.period_start))
    return {pk: value for pk, value in found.items() if value}


def _breakdown(line: InvoiceLineItem, already: Decimal, unit: str) -> tuple[str, ...]:
    if line.amount == 0 and not line.quantity:
        return ()
    spec = spec_of(line.price)
    quantity = line.quantity or ZERO
    if not already:
        return tuple(describe_line(price_amount(spec, quantity), spec))
    to_date = already + quantity
    rows = [f"Usage to date: {format_units(to_date)} {unit}"]
    rows += describe_line(price_amount(spec, to_date), spec)
    earlier = price_amount(spec, already).exact
    rows.append(
        f"Less {format_units(already)} billed on earlier invoices: "
        f"−{format_minor(earlier, spec.currency)}"
    )
    return tuple(rows)


def usage_detail(
    line: InvoiceLineItem, *, already: Decimal | None = None
) -> UsageDetail | None:
    """The usage a metered line bills (None for any other line)."""
    if not _is_usage(line) or line.price.recurring_meter_id is None:
        return None
    quantity = line.quantity or ZERO
    unit = unit_name(line.price.product.unit_label, quantity)
    return UsageDetail(
        meter=line.price.recurring_meter.display_name,
        period_start=line.period_start,
        period_end=line.period_end,
        quantity=quantity,
        unit=unit,
        breakdown=_breakdown(line, already or ZERO, unit),
    )
