"""Real-time credit burndown: what the usage not yet invoiced will take of each grant.

The invoices still to finalize are composed as finalization will compose them:
each draft of the customer re-rated with the usage known now, then each live
subscription's upcoming period (collect and rate, as the period close), in the
order they finalize. Their lines go through the pipeline's credits step together
(``billing.compose.credits``, the allocation finalization posts), so at a
period's end the figure is what the invoice applies, to the cent. Registered
with the credits app (``credits.selectors.unbilled_usage_provider_register``),
which cannot import billing.
"""

from __future__ import annotations

from datetime import datetime

from billing.compose.collect import UsageReader, cycles_collect
from billing.compose.credits import apply_credits
from billing.compose.discount import discount
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


def _draft_lines(customer_id: str, now: datetime, usage: UsageReader) -> list:
    """Lines of the customer's drafts, re-rated as finalization will."""
    drafts = list(
        Invoice.objects.filter(
            customer_id=customer_id, status=Invoice.Status.DRAFT
        ).order_by("finalize_at", "created", "id")
    )
    lines = lines_by_invoice([invoice.pk for invoice in drafts])
    usage_reprice(invoices=drafts, lines=lines, now=now, usage=usage)
    return [draft_of_line(line) for invoice in drafts for line in lines[invoice.pk]]


def _upcoming_lines(customer_id: str, usage: UsageReader) -> list[DraftLine]:
    """Lines of each live subscription's period close, as it stands now."""
    subs = list(
        Subscription.objects.filter(
            customer_id=customer_id, status__in=CLOSING_STATUSES
        ).order_by("current_period_end", "id")
    )
    items = items_by_subscription(sub.pk for sub in subs)
    for sub in subs:
        sub._loaded_items = items[sub.pk]
    inputs = cycles_collect(subs, usage, lock=False)
    lines: list[DraftLine] = []
    for sub in subs:
        drafts, _ = cycle_drafts(inputs[sub.pk], ending=ends_at_period_end(sub))
        lines += drafts
    return lines


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
    lines = _draft_lines(customer_id, now, usage) + _upcoming_lines(customer_id, usage)
    draft = InvoiceDraft(
        customer_id=customer_id,
        currency="",
        lines=tuple(lines),
        now=now,
        grants=tuple(grant_candidate(grant, now=now) for grant in grants),
    )
    used: dict[str, int] = {}
    for allocation in apply_credits(discount(draft)).credits:
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
