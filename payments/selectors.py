"""Reads of the payments app."""

from __future__ import annotations

from django.db.models import QuerySet

from payments.models import PaymentMethod


def payment_method_list(
    *,
    customer_id: str | None = None,
    type: str | None = None,
    allow_redisplay: str | None = None,
) -> QuerySet[PaymentMethod]:
    """Payment methods in the active mode, a customer's only if given."""
    rows = PaymentMethod.objects.all()
    if customer_id:
        rows = rows.filter(customer_id=customer_id)
    if type:
        rows = rows.filter(type=type)
    if allow_redisplay:
        rows = rows.filter(allow_redisplay=allow_redisplay)
    return rows
