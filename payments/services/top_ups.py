"""Auto top-up (beyond Stripe; Metronome and Orb have it).

When a customer's available credit after the usage not yet invoiced (the
real-time burndown, ``credits.selectors.credit_balance_summary``) falls below
their threshold, Tally invoices ``amount`` as a prepayment, charges it, and the
paid invoice grants the credits (``paid_credits``). One top-up per crossing: the
``TopUp`` row is unique per (auto top-up, crossing number), and the order is
re-armed only once the balance is back at or above the threshold. A calendar
month's top-ups never exceed the monthly ceiling.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Sum

from billing.services import invoice_create, invoice_finalize, invoice_item_create
from core.errors import InvalidRequest
from core.models import Customer
from credits.selectors import credit_balance_summary
from payments.models import AutoTopUp, TopUp
from payments.services.paid_credits import AMOUNT_KEY


def auto_top_up_set(
    *, customer: Customer, params: dict[str, Any], now: datetime
) -> AutoTopUp:
    """Create or change a customer's auto top-up (amounts in minor units)."""
    threshold, amount = params["threshold"], params["amount"]
    ceiling = params.get("monthly_ceiling", amount)
    if amount <= 0 or threshold < 0 or ceiling < amount:
        raise InvalidRequest(
            "The amount must be positive, the threshold not negative, and the "
            "monthly ceiling at least one top-up.",
            param="monthly_ceiling" if ceiling < amount else "amount",
        )
    top_up, _ = AutoTopUp.objects.update_or_create(
        customer=customer,
        defaults={
            "currency": params.get("currency", "usd"),
            "threshold": threshold,
            "amount": amount,
            "monthly_ceiling": ceiling,
            "enabled": params.get("enabled", True),
        },
        create_defaults={
            "currency": params.get("currency", "usd"),
            "threshold": threshold,
            "amount": amount,
            "monthly_ceiling": ceiling,
            "enabled": params.get("enabled", True),
            "created": now,
            "livemode": customer.livemode,
        },
    )
    return top_up


def _available(top_up: AutoTopUp, now: datetime) -> int:
    """Credit left once the usage not yet invoiced is paid (minor units)."""
    for row in credit_balance_summary(customer_id=top_up.customer_id, now=now):
        if row.currency == top_up.currency:
            if row.after_unbilled_usage is not None:
                return row.after_unbilled_usage
            return row.available
    return 0


def _spent_this_month(top_up: AutoTopUp, now: datetime) -> int:
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    spent = TopUp.objects.filter(auto_top_up=top_up, created__gte=start).aggregate(
        total=Sum("amount")
    )["total"]
    return spent or 0


def auto_top_up_evaluate(*, top_up_id: int, now: datetime) -> TopUp | None:
    """Start a top-up if the balance crossed below the threshold; else re-arm."""
    available = None
    with transaction.atomic():
        top_up = (
            AutoTopUp.objects.select_for_update()
            .select_related("customer")
            .get(pk=top_up_id)
        )
        if not top_up.enabled:
            return None
        available = _available(top_up, now)
        if available >= top_up.threshold:
            if not top_up.armed:
                top_up.armed = True
                top_up.save(update_fields=["armed"])
            return None
        if not top_up.armed:
            return None  # this crossing was topped up already
        if _spent_this_month(top_up, now) + top_up.amount > top_up.monthly_ceiling:
            return None
        top_up.crossings += 1
        top_up.armed = False
        top_up.save(update_fields=["crossings", "armed"])
        row = TopUp.objects.create(
            auto_top_up=top_up,
            crossing=top_up.crossings,
            amount=top_up.amount,
            balance_seen=available,
            created=now,
            livemode=top_up.livemode,
        )
        row.invoice = _top_up_invoice(top_up, now)
        row.save(update_fields=["invoice"])
    return row


def _top_up_invoice(top_up: AutoTopUp, now: datetime):
    """A prepayment invoice of ``amount``, finalized: collection charges it."""
    invoice = invoice_create(
        customer=top_up.customer,
        params={
            "currency": top_up.currency,
            "collection_method": "charge_automatically",
            "description": "Credit top-up",
            "metadata": {AMOUNT_KEY: str(top_up.amount)},
        },
        now=now,
    )
    invoice_item_create(
        customer=top_up.customer,
        params={
            "amount": top_up.amount,
            "currency": top_up.currency,
            "invoice": invoice.pk,
            "description": "Prepaid credits (auto top-up)",
        },
        now=now,
    )
    invoice.refresh_from_db()
    return invoice_finalize(invoice=invoice, now=now)


def auto_top_ups_evaluate(*, now: datetime, test_clock=None) -> int:
    """The Beat job: every enabled auto top-up, each in its own transaction."""
    started = 0
    ids = (
        AutoTopUp.objects.filter(enabled=True, customer__test_clock=test_clock)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for top_up_id in list(ids):
        if auto_top_up_evaluate(top_up_id=top_up_id, now=now):
            started += 1
    return started
