"""Subscription statuses that follow unpaid invoices (a Beat job and clock handler).

An active subscription whose open invoice is past its due date becomes
``past_due`` (paying it brings the subscription back, see ``invoice_pay``); an
``incomplete`` one whose first invoice stays unpaid for 23 hours expires, and that
invoice is voided. Each subscription moves in its own transaction under its lock.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from billing.models import Invoice, Subscription
from billing.services.events import before, emit_updated
from billing.services.invoices import invoice_void


def subscriptions_settle_due(*, now: datetime, test_clock=None) -> int:
    """Move subscriptions along unpaid invoices: past due, incomplete expired."""
    changed = 0
    overdue = Subscription.objects.filter(
        status=Subscription.Status.ACTIVE,
        invoices__status=Invoice.Status.OPEN,
        invoices__due_date__lte=now,
    )
    expired = Subscription.objects.filter(
        status=Subscription.Status.INCOMPLETE, incomplete_expires_at__lte=now
    )
    for rows, step in ((overdue, _past_due), (expired, _expire)):
        rows = rows.filter(test_clock=test_clock)
        for sub_id in rows.order_by("id").values_list("id", flat=True).distinct():
            with transaction.atomic():
                sub = Subscription.objects.select_for_update().get(pk=sub_id)
                changed += step(sub, now)
    return changed


def _past_due(sub: Subscription, now: datetime) -> int:
    if sub.status != Subscription.Status.ACTIVE:
        return 0
    was = before(sub)
    sub.status = Subscription.Status.PAST_DUE
    sub.save(update_fields=["status"])
    emit_updated("customer.subscription.updated", sub, was)
    return 1


def _expire(sub: Subscription, now: datetime) -> int:
    if sub.status != Subscription.Status.INCOMPLETE:
        return 0
    for invoice in Invoice.objects.filter(subscription=sub, status="open"):
        invoice_void(invoice=invoice, now=now)
    was = before(sub)
    sub.status = Subscription.Status.INCOMPLETE_EXPIRED
    sub.ended_at = now
    sub.save(update_fields=["status", "ended_at"])
    emit_updated("customer.subscription.updated", sub, was)
    return 1


def next_settle_event(*, test_clock) -> datetime | None:
    """When the clock's earliest due date or incomplete expiry comes."""
    moments = [
        Invoice.objects.filter(
            test_clock=test_clock,
            status=Invoice.Status.OPEN,
            subscription__status=Subscription.Status.ACTIVE,
            due_date__isnull=False,
        )
        .order_by("due_date")
        .values_list("due_date", flat=True)
        .first(),
        Subscription.objects.filter(
            test_clock=test_clock, status=Subscription.Status.INCOMPLETE
        )
        .order_by("incomplete_expires_at")
        .values_list("incomplete_expires_at", flat=True)
        .first(),
    ]
    moments = [moment for moment in moments if moment is not None]
    return min(moments) if moments else None
