"""Usage billed in arrears when a period closes, and usage that arrived late.

A period's metered lines bill each item's usage over the period less what
threshold invoices of the period already billed (tiers continue). Usage of the
period before that reached Tally after that period's invoice was final is billed
as its own line ("Usage from previous period"), priced on top of what was billed.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Q

from billing.models import Invoice, InvoiceLineItem, Subscription, SubscriptionItem
from billing.services.lines import USAGE_KINDS, billed_totals, item_usage_draft

ROW_FIELDS = (
    "subscription_item_id",
    "period_start",
    "period_end",
    "quantity",
    "amount",
    "invoice__status",
)


def line_rows(condition: Q):
    return InvoiceLineItem.objects.filter(condition, kind__in=USAGE_KINDS)


def usage_lines(sub: Subscription, metered: list[SubscriptionItem]):
    """Usage lines of this period and of the one before, for the metered items."""
    prefetched = getattr(sub, "_usage_rows", None)
    if prefetched is not None:
        sub._usage_rows = None
        return prefetched
    if not metered:
        return []
    first_start = min(item.current_period_start for item in metered)
    return list(
        line_rows(Q(subscription_item_id__in=[item.pk for item in metered]))
        .filter(
            Q(period_start__gte=first_start) | Q(period_end=sub.current_period_start)
        )
        .values_list(*ROW_FIELDS)
    )


def late_drafts(sub, metered, rows, now, usage) -> list:
    """Usage of the previous period that arrived after its invoice was final."""
    previous: dict[tuple, list] = defaultdict(list)
    for item_id, start, end, quantity, amount, status in rows:
        if end == sub.current_period_start and start < end:
            previous[(item_id, start)].append((quantity, amount, status))
    drafts = []
    by_id = {item.pk: item for item in metered}
    for (item_id, start), entries in previous.items():
        if any(status == Invoice.Status.DRAFT for _, _, status in entries):
            continue  # its draft re-reads the usage when it finalizes
        item = by_id[item_id]
        billed = billed_totals(
            (item_id, start, quantity, amount) for quantity, amount, _ in entries
        ).get((item_id, start))
        total = usage.usage(
            item.price.recurring_meter,
            sub.customer_id,
            start,
            sub.current_period_start,
        )
        if total > (billed or 0):
            drafts.append(
                item_usage_draft(
                    item=item,
                    start=start,
                    end=sub.current_period_start,
                    total=total,
                    already=billed,
                    late=True,
                )
            )
    return drafts


def arrears_drafts(sub, items, usage, now) -> list:
    """Metered usage of the ending period, after what threshold invoices billed."""
    metered = [item for item in items if item.price.is_metered]
    rows = usage_lines(sub, metered)
    billed = billed_totals(
        (item_id, start, quantity, amount)
        for item_id, start, _end, quantity, amount, _status in rows
    )
    drafts = []
    for item in metered:
        total = usage.usage(
            item.price.recurring_meter,
            sub.customer_id,
            item.current_period_start,
            sub.current_period_end,
        )
        drafts.append(
            item_usage_draft(
                item=item,
                start=item.current_period_start,
                end=sub.current_period_end,
                total=total,
                already=billed.get((item.pk, item.current_period_start)),
            )
        )
    return drafts + late_drafts(sub, metered, rows, now, usage)
