"""Creating and voiding commitments (``/v1/billing/commitments``).

Everything is checked before anything is written, and the whole creation is one
transaction: a refused commitment leaves no commitment, grant or invoice item.
Two commitments of one type and one subscription (or, for prepaid ones without a
subscription, one customer) may not overlap in time; the subscription's (or the
customer's) row is locked first, so two concurrent creations cannot both pass.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q

from billing.models import Commitment, Subscription
from billing.services.invoice_items import invoice_item_create
from core.errors import InvalidRequest, ResourceMissing
from core.metadata import metadata_merge
from core.models import Customer
from core.money import MAX_AMOUNT
from core.services.events import event_emit
from credits.services.grants import credit_grant_create, credit_grant_void

_ENDED = ("canceled", "incomplete_expired")


def _subscription(subscription_id: str | None) -> Subscription | None:
    if subscription_id is None:
        return None
    sub = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(pk=subscription_id)
        .first()
    )
    if sub is None:
        raise ResourceMissing(
            f"No such subscription: '{subscription_id}'",
            param="subscription",
            http_status=400,
        )
    if sub.status in _ENDED:
        raise InvalidRequest(
            f"The subscription '{sub.pk}' has ended.", param="subscription"
        )
    return sub


def _customer(customer_id: str | None, sub: Subscription | None) -> Customer:
    if customer_id is None:
        if sub is None:
            raise InvalidRequest(
                "Pass customer or subscription.",
                param="customer",
                code="parameter_missing",
            )
        customer_id = sub.customer_id
    customer = (
        Customer.objects.select_for_update()
        .filter(pk=customer_id, deleted=False)
        .first()
    )
    if customer is None:
        raise ResourceMissing(
            f"No such customer: '{customer_id}'", param="customer", http_status=400
        )
    if sub is not None and sub.customer_id != customer.pk:
        raise InvalidRequest(
            f"The subscription '{sub.pk}' belongs to another customer.",
            param="subscription",
        )
    return customer


def _check_amount(amount: int) -> None:
    if not 0 < amount <= MAX_AMOUNT:
        raise InvalidRequest(
            f"The amount must be a positive integer of at most {MAX_AMOUNT} minor "
            "units.",
            param="amount",
        )


def _currency(currency: str, customer: Customer, sub: Subscription | None) -> str:
    currency = currency.lower()
    expected = sub.currency if sub is not None else customer.currency
    if expected and currency != expected:
        whose = "subscription" if sub is not None else "customer"
        raise InvalidRequest(
            f"The currency {currency} does not match the {whose}'s currency "
            f"({expected}).",
            param="currency",
            code="currency_mismatch",
        )
    return currency


def _term(params: dict, kind: str, sub: Subscription | None, now: datetime):
    term = params.get("term") or {}
    default_start = sub.current_period_start if sub is not None else now
    start, end = term.get("start", default_start), term.get("end")
    if kind == Commitment.Type.PREPAID and end is None:
        raise InvalidRequest(
            "A prepaid commitment needs term[end].",
            param="term[end]",
            code="parameter_missing",
        )
    if end is not None and end <= start:
        raise InvalidRequest("term[end] must be after term[start].", param="term[end]")
    if kind == Commitment.Type.PREPAID and end <= now:
        raise InvalidRequest("term[end] must be in the future.", param="term[end]")
    return start, end


def _check_overlap(
    kind: str, customer: Customer, sub: Subscription | None, start, end
) -> None:
    rows = Commitment.objects.filter(type=kind, voided_at__isnull=True)
    if sub is not None:
        rows = rows.filter(subscription=sub)
    else:
        rows = rows.filter(customer=customer, subscription__isnull=True)
    # Terms [a, b) and [start, end) overlap when a < end and start < b.
    rows = rows.filter(Q(term_end__isnull=True) | Q(term_end__gt=start))
    if end is not None:
        rows = rows.filter(term_start__lt=end)
    clash = rows.order_by("term_start").first()
    if clash is not None:
        raise InvalidRequest(
            f"The term overlaps the term of commitment '{clash.pk}'.",
            param="term",
            code="commitment_overlap",
        )


def commitment_create(*, params: dict[str, Any], now: datetime) -> Commitment:
    """Create a commitment; a prepaid one also gets its paid credit grant and,
    unless ``bill_prepayment`` is false, a pending invoice item for its amount.
    Emits ``billing.commitment.created``."""
    kind = params["type"]
    if kind == Commitment.Type.MINIMUM_SPEND and not params.get("subscription"):
        raise InvalidRequest(
            "A minimum_spend commitment needs a subscription.",
            param="subscription",
            code="parameter_missing",
        )
    _check_amount(params["amount"])
    settings = _minimum_spend_settings(kind, params.get("minimum_spend"))
    with transaction.atomic():
        sub = _subscription(params.get("subscription"))
        customer = _customer(params.get("customer"), sub)
        currency = _currency(params["currency"], customer, sub)
        start, end = _term(params, kind, sub, now)
        _check_overlap(kind, customer, sub, start, end)
        commitment = Commitment(
            type=kind,
            customer=customer,
            subscription=sub,
            currency=currency,
            amount=params["amount"],
            term_start=start,
            term_end=end,
            description=params.get("description"),
            **settings,
            metadata=metadata_merge({}, params.get("metadata")),
            livemode=customer.livemode,
            created=now,
        )
        if kind == Commitment.Type.PREPAID:
            _prepaid_parts(commitment, params, now)
        commitment.save(force_insert=True)
        if kind == Commitment.Type.MINIMUM_SPEND and not sub.has_commitments:
            Subscription.objects.filter(pk=sub.pk).update(has_commitments=True)
            sub.has_commitments = True
        event_emit(type="billing.commitment.created", instance=commitment)
    return commitment


def _minimum_spend_settings(kind: str, given: dict | None) -> dict[str, str]:
    """``proration`` and ``spend_scope`` of a minimum spend (defaults: Metronome's
    ``first_and_last``, and usage only); a prepaid commitment takes neither."""
    if not given:
        return {}
    if kind != Commitment.Type.MINIMUM_SPEND:
        raise InvalidRequest(
            "minimum_spend applies only to a minimum_spend commitment.",
            param="minimum_spend",
        )
    return {key: given[key] for key in ("proration", "spend_scope") if key in given}


def _prepaid_parts(commitment: Commitment, params: dict, now: datetime) -> None:
    """The paid grant drawn down by the term's usage, and the prepayment's item."""
    name = commitment.description or "Prepaid commitment"
    commitment.credit_grant = credit_grant_create(
        customer=commitment.customer,
        value=commitment.amount,
        currency=commitment.currency,
        category="paid",
        effective_at=commitment.term_start,
        expires_at=commitment.term_end,
        name=name[:100],
        metadata={"commitment": commitment.pk},
        now=now,
    )
    if params.get("bill_prepayment", True):
        item_params = {
            "amount": commitment.amount,
            "currency": commitment.currency,
            "description": name,
            "discountable": False,
            "metadata": {"commitment": commitment.pk},
        }
        if commitment.subscription_id:
            item_params["subscription"] = commitment.subscription_id
        commitment.invoice_item = invoice_item_create(
            customer=commitment.customer, params=item_params, now=now
        )


def commitment_void(*, commitment: Commitment, now: datetime) -> Commitment:
    """Void a commitment: no true-up from now on; a prepaid one's grant is voided
    (what it paid stays paid). Emits ``billing.commitment.voided``."""
    with transaction.atomic():
        commitment = Commitment.objects.select_for_update().get(pk=commitment.pk)
        if commitment.voided_at is not None:
            raise InvalidRequest(
                "This commitment is already void.", code="commitment_voided"
            )
        commitment.voided_at = now
        commitment.save(update_fields=["voided_at"])
        if commitment.credit_grant_id is not None:
            grant = commitment.credit_grant
            if grant.voided_at is None and grant.status != "expired":
                credit_grant_void(grant=grant, now=now)
        event_emit(type="billing.commitment.voided", instance=commitment)
    return commitment
