"""Real-time credit burndown: what the usage not yet invoiced will take of each grant.

The invoices still to finalize are composed as finalization will compose them:
each draft of the customer re-rated with the usage known now, then each live
subscription's upcoming period (collect and rate, as the period close), in the
order they finalize. Each invoice's discounts come off its lines first (the
pipeline's discount step, per invoice); then the lines go through the credits
step together (``billing.compose.credits``, the allocation finalization posts),
so at a period's end the figure is what the invoice applies, to the cent. Registered
with the credits app (``credits.selectors.unbilled_usage_provider_register``),
which cannot import billing.
"""

from __future__ import annotations

from datetime import datetime

from billing.compose.collect import UsageReader, cycles_collect
from billing.compose.credits import apply_credits
from billing.compose.discount import discount
from billing.compose.discount_rows import invoices_discounts_collect
from billing.compose.draft import DraftLine, InvoiceDraft
from billing.compose.rate import cycle_drafts
from billing.compose.rows import items_by_subscription
from billing.models import Invoice, Subscription
from billing.services.cycle import ends_at_period_end
from billing.services.period_close import CLOSING_STATUSES
from billing.services.persist import draft_of_line
from billing.services.rerate import lines_by_invoice, usage_reprice
from credits.models import CreditGrant
from credits.selectors import grant_candidate, grant_candidates_query

Group = tuple[Invoice, list[DraftLine]]


def _draft_lines(customer_id: str, now: datetime, usage: UsageReader) -> list[Group]:
    """Each draft of the customer and its lines, re-rated as finalization will."""
    drafts = list(
        Invoice.objects.filter(
            customer_id=customer_id, status=Invoice.Status.DRAFT
        ).order_by("finalize_at", "created", "id")
    )
    lines = lines_by_invoice([invoice.pk for invoice in drafts])
    usage_reprice(invoices=drafts, lines=lines, now=now, usage=usage)
    return [
        (invoice, [draft_of_line(line) for line in lines[invoice.pk]])
        for invoice in drafts
    ]


def _upcoming_lines(customer_id: str, usage: UsageReader, now: datetime) -> list[Group]:
    """Each live subscription's period close as it stands now (an unsaved
    invoice, made at the period's end) and its lines."""
    subs = list(
        Subscription.objects.filter(
            customer_id=customer_id, status__in=CLOSING_STATUSES
        ).order_by("current_period_end", "id")
    )
    items = items_by_subscription(sub.pk for sub in subs)
    for sub in subs:
        sub._loaded_items = items[sub.pk]
    inputs = cycles_collect(subs, usage, lock=False)
    groups: list[Group] = []
    for sub in subs:
        drafts, _ = cycle_drafts(inputs[sub.pk], ending=ends_at_period_end(sub))
        upcoming = Invoice(
            id=f"upcoming_{sub.pk}",
            customer_id=customer_id,
            subscription_id=sub.pk,
            currency=sub.currency,
            billing_reason="upcoming",
            period_start=sub.current_period_start,
            period_end=sub.current_period_end,
            created=now,
        )
        groups.append((upcoming, drafts))
    return groups


def _discounted(
    groups: list[Group], customer_id: str, now: datetime
) -> tuple[list[DraftLine], tuple[tuple[int, int], ...]]:
    """All the groups' lines, and the discounts each invoice's step takes off
    them (by index in the returned lines): one read of discounts for all."""
    invoices = [invoice for invoice, _ in groups]
    found = invoices_discounts_collect(
        invoices,
        {
            invoice.pk: {line.invoice_item_id for line in group if line.invoice_item_id}
            for invoice, group in groups
        },
    )
    lines: list[DraftLine] = []
    discounts: list[tuple[int, int]] = []
    for invoice, group in groups:
        stepped = discount(
            InvoiceDraft(
                customer_id=customer_id,
                currency=invoice.currency,
                lines=tuple(group),
                now=now,
                coupons=found[invoice.pk].candidates,
            )
        )
        discounts += [
            (index + len(lines), amount) for index, amount in stepped.discounts
        ]
        lines += group
    return lines, tuple(discounts)


def unbilled_credit_use(*, customer_id: str, now: datetime) -> dict[str, int]:
    """Minor units each live grant will pay of the usage not invoiced yet."""
    grants = list(
        grant_candidates_query(
            customer_id=customer_id,
            currencies=_currencies(customer_id),
            now=now,
        )
    )
    if not grants:
        return {}
    usage = UsageReader()
    groups = _draft_lines(customer_id, now, usage)
    groups += _upcoming_lines(customer_id, usage, now)
    lines, discounts = _discounted(groups, customer_id, now)
    draft = InvoiceDraft(
        customer_id=customer_id,
        currency="",
        lines=tuple(lines),
        now=now,
        grants=tuple(grant_candidate(grant, now=now) for grant in grants),
        discounts=discounts,
    )
    used: dict[str, int] = {}
    for allocation in apply_credits(draft).credits:
        grant = allocation.credit_grant_id
        used[grant] = used.get(grant, 0) + allocation.amount
    return used


def _currencies(customer_id: str) -> set[str]:
    """The currencies of the customer's grants."""
    return set(
        CreditGrant.objects.filter(customer_id=customer_id).values_list(
            "currency", flat=True
        )
    )
