"""``billing.commitment`` (Tally extension, named after Metronome's commits)."""

from __future__ import annotations

from typing import Any

from billing.api.render.parts import ts
from billing.commitment_status import commitment_drawdown
from core import clock


def _status(commitment, now) -> str:
    if commitment.voided_at is not None:
        return "voided"
    if now < commitment.term_start:
        return "scheduled"
    if commitment.term_end is not None and commitment.term_end <= now:
        return "ended"
    return "active"


def _minimum_spend(row) -> dict[str, str] | None:
    if row.type != "minimum_spend":
        return None
    return {"proration": row.proration, "spend_scope": row.spend_scope}


def commitment(row) -> dict[str, Any]:
    now = clock.now_for_customer(row.customer)
    drawdown = commitment_drawdown(row, now=now)
    prepaid = None
    if drawdown is not None:
        prepaid = {
            "balance": drawdown.balance,
            "used": drawdown.used,
            "burn_rate_per_day": drawdown.burn_rate,
            "projected_run_out_at": ts(drawdown.projected_run_out),
            "exhausted": drawdown.exhausted,
        }
    return {
        "id": row.pk,
        "object": "billing.commitment",
        "amount": row.amount,
        "created": ts(row.created),
        "credit_grant": row.credit_grant_id,
        "currency": row.currency,
        "customer": row.customer_id,
        "description": row.description,
        "invoice_item": row.invoice_item_id,
        "livemode": row.livemode,
        "metadata": row.metadata,
        "minimum_spend": _minimum_spend(row),
        "prepaid": prepaid,
        "status": _status(row, now),
        "subscription": row.subscription_id,
        "term": {"start": ts(row.term_start), "end": ts(row.term_end)},
        "type": row.type,
        "voided_at": ts(row.voided_at),
    }
