"""Credit grants: create, update, expire, void, and the jobs that make time pass.

Events: ``billing.credit_grant.created`` and ``billing.credit_grant.updated`` for the
grant, ``billing.credit_balance_transaction.created`` for each ledger row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q

from catalog.models import Price
from core.errors import InvalidRequest, InvalidState, ResourceMissing
from core.metadata import metadata_merge
from core.models import Customer, TestClock
from core.money import MAX_AMOUNT
from core.services.events import event_emit, event_emit_updated, snapshot
from credits.models import CreditGrant
from credits.services.ledger import (
    Kind,
    Status,
    grant_catch_up,
    grants_lock,
    ledger_post,
)
from credits.services.notices import credit_grant_expiry_notice_send

MAX_SCOPE_PRICES = 20
# The largest grant, in minor units (a trillion cents is ten billion USD).
MAX_VALUE = MAX_AMOUNT
PRICES_PARAM = "applicability_config[scope][prices]"


def _scope_prices(price_ids: Sequence[str], currency: str) -> list[str]:
    """Check the listed prices: known, metered, in the grant's currency."""
    if not price_ids:
        raise InvalidRequest("List at least one price.", param=PRICES_PARAM)
    if len(price_ids) > MAX_SCOPE_PRICES:
        raise InvalidRequest(
            f"A credit grant can list at most {MAX_SCOPE_PRICES} prices.",
            param=PRICES_PARAM,
        )
    found = Price.objects.in_bulk(list(price_ids))
    for index, price_id in enumerate(price_ids):
        param = f"{PRICES_PARAM}[{index}][id]"
        price = found.get(price_id)
        if price is None:
            raise ResourceMissing(
                f"No such price: '{price_id}'", param=param, http_status=400
            )
        if not price.is_metered:
            raise InvalidRequest(
                f"The price '{price_id}' is not metered; billing credits apply only "
                "to prices with a meter.",
                param=param,
            )
        if price.currency != currency:
            raise InvalidRequest(
                f"The price '{price_id}' is in {price.currency.upper()} but the "
                f"credit grant is in {currency.upper()}.",
                param=param,
            )
    return list(dict.fromkeys(price_ids))


def _check_expiry(
    expires_at: datetime | None, *, effective_at: datetime, now: datetime
) -> None:
    if expires_at is None:
        return
    if expires_at <= now:
        raise InvalidRequest(
            "expires_at must be in the future; expire the grant to end it now.",
            param="expires_at",
        )
    if expires_at <= effective_at:
        raise InvalidRequest(
            "expires_at must be after effective_at.", param="expires_at"
        )


def _check_terms(*, value: int, currency: str, priority: int, category: str) -> None:
    if not 0 < value <= MAX_VALUE:
        raise InvalidRequest(
            f"The amount must be a positive integer of at most {MAX_VALUE} minor "
            "units.",
            param="amount[monetary][value]",
        )
    if len(currency) != 3 or not currency.isalpha():
        raise InvalidRequest(
            "Use a three-letter ISO currency code.", param="amount[monetary][currency]"
        )
    if not 0 <= priority <= 100:
        raise InvalidRequest(
            "The priority must be between 0 and 100.", param="priority"
        )
    if category not in CreditGrant.Category.values:
        raise InvalidRequest(
            "The category must be paid or promotional.", param="category"
        )


@transaction.atomic
def credit_grant_create(
    *,
    customer: Customer,
    value: int,
    currency: str,
    prices: Sequence[str] | None = None,
    category: str = CreditGrant.Category.PAID,
    effective_at: datetime | None = None,
    expires_at: datetime | None = None,
    priority: int = 50,
    name: str | None = None,
    metadata: dict[str, str] | None = None,
    now: datetime,
) -> CreditGrant:
    """Grant ``value`` minor units; ``prices`` None covers every metered price.

    Credits are granted (ledger ``credits_granted``) at once when ``effective_at``
    is not in the future, otherwise when it comes due.
    """
    if customer.deleted:
        raise ResourceMissing(
            f"No such customer: '{customer.pk}'", param="customer", http_status=400
        )
    currency = currency.lower()
    _check_terms(value=value, currency=currency, priority=priority, category=category)
    effective_at = effective_at or now
    _check_expiry(expires_at, effective_at=effective_at, now=now)
    grant = CreditGrant(
        customer=customer,
        test_clock_id=customer.test_clock_id,
        livemode=customer.livemode,
        name=name or None,
        currency=currency,
        amount=value,
        category=category,
        scope_price_type=None if prices is not None else "metered",
        scope_prices=[] if prices is None else _scope_prices(prices, currency),
        priority=priority,
        effective_at=effective_at,
        expires_at=expires_at,
        metadata=metadata_merge({}, metadata or {}),
        created=now,
        updated=now,
    )
    grant.save(force_insert=True)
    event_emit(type="billing.credit_grant.created", instance=grant)
    grant_catch_up(grant=grant, now=now)
    # Created already inside the notice window: the customer hears at once.
    if credit_grant_expiry_notice_send(grant_id=grant.pk, now=now):
        grant.refresh_from_db(fields=["expiry_notice_sent_at"])
    return grant


def _locked(grant: CreditGrant, now: datetime) -> CreditGrant:
    """Lock the grant and post what time has made due."""
    (locked,) = grants_lock([grant.pk])
    grant_catch_up(grant=locked, now=now)
    return locked


def _refuse_if_ended(grant: CreditGrant, action: str, param: str | None = None):
    if grant.status in (Status.EXPIRED, Status.VOIDED):
        raise InvalidState(
            f"The credit grant {grant.pk} is {grant.status}; it cannot be {action}.",
            param=param,
        )


@transaction.atomic
def credit_grant_update(
    *, grant: CreditGrant, params: dict[str, Any], now: datetime
) -> CreditGrant:
    """Change ``expires_at`` (None: never) and ``metadata``."""
    grant = _locked(grant, now)
    before = snapshot(grant)
    expires_at, metadata = grant.expires_at, grant.metadata
    if "expires_at" in params:
        _refuse_if_ended(grant, "given a new expiry", param="expires_at")
        expires_at = params["expires_at"]
        _check_expiry(expires_at, effective_at=grant.effective_at, now=now)
    if "metadata" in params:
        metadata = metadata_merge(grant.metadata, params["metadata"])
    if (expires_at, metadata) != (grant.expires_at, grant.metadata):
        grant.expires_at, grant.metadata, grant.updated = expires_at, metadata, now
        grant.save(update_fields=["expires_at", "metadata", "updated"])
    event_emit_updated(
        type="billing.credit_grant.updated", instance=grant, before=before
    )
    # An expiry moved into the notice window is announced at once (a grant
    # already noticed is not noticed again).
    if credit_grant_expiry_notice_send(grant_id=grant.pk, now=now):
        grant.refresh_from_db(fields=["expiry_notice_sent_at"])
    return grant


@transaction.atomic
def credit_grant_expire(*, grant: CreditGrant, now: datetime) -> CreditGrant:
    """End the grant now: ``expires_at`` becomes now, the remainder expires."""
    grant = _locked(grant, now)
    _refuse_if_ended(grant, "expired")
    if grant.status == Status.PENDING:
        raise InvalidState(
            f"The credit grant {grant.pk} is not effective yet; void it instead."
        )
    before = snapshot(grant)
    grant.expires_at = now
    grant.updated = now
    grant.status = Status.EXPIRED
    grant.save(update_fields=["expires_at", "updated", "status"])
    ledger_post(
        grant=grant,
        kind=Kind.CREDITS_EXPIRED,
        amount=grant.balance,
        now=now,
        effective_at=now,
    )
    event_emit_updated(
        type="billing.credit_grant.updated", instance=grant, before=before
    )
    return grant


@transaction.atomic
def credit_grant_void(*, grant: CreditGrant, now: datetime) -> CreditGrant:
    """Void the grant: ``voided_at`` is set and the remainder is debited."""
    grant = _locked(grant, now)
    _refuse_if_ended(grant, "voided")
    before = snapshot(grant)
    grant.status = Status.VOIDED
    grant.voided_at = now
    grant.updated = now
    grant.save(update_fields=["status", "voided_at", "updated"])
    ledger_post(
        grant=grant,
        kind=Kind.CREDITS_VOIDED,
        amount=grant.balance,
        now=now,
        effective_at=now,
    )
    event_emit_updated(
        type="billing.credit_grant.updated", instance=grant, before=before
    )
    return grant


def credit_grants_due(
    *, now: datetime, test_clock: TestClock | None = None
) -> list[str]:
    """Ids of grants with a grant or an expiry due at ``now``, in id order.

    Without ``test_clock``: grants of customers on real time only.
    """
    rows = CreditGrant.objects.filter(
        Q(status=Status.PENDING, effective_at__lte=now)
        | Q(status__in=[Status.PENDING, Status.ACTIVE], expires_at__lte=now)
    )
    if test_clock is None:
        rows = rows.filter(test_clock__isnull=True)
    else:
        rows = rows.filter(test_clock=test_clock)
    return list(rows.order_by("pk").values_list("pk", flat=True))


@transaction.atomic
def credit_grant_catch_up(*, grant_id: str, now: datetime) -> None:
    """Post what is due on one grant; a second run finds nothing left to do."""
    for grant in grants_lock([grant_id]):
        grant_catch_up(grant=grant, now=now)


def credit_grants_process_due(
    *, now: datetime, test_clock: TestClock | None = None
) -> int:
    """Grant and expire what is due, each grant in its own short transaction."""
    grant_ids = credit_grants_due(now=now, test_clock=test_clock)
    for grant_id in grant_ids:
        credit_grant_catch_up(grant_id=grant_id, now=now)
    return len(grant_ids)
