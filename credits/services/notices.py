"""The "credits expiring soon" email: one per grant, to the grant's customer.

A grant is due for its notice while it is active, has credits left, has an email
address to write to, and expires within ``TALLY_GRANT_EXPIRY_NOTICE`` (a timedelta;
zero turns notices off): ``now < expires_at <= now + window``, so a grant exactly
one window before its expiry gets it and one a second earlier does not yet. A grant
created (or given an expiry) already inside the window gets it at once, in the
transaction that made it due; one that becomes effective inside the window gets it
when its credits are granted.

One notice per grant, ever: ``expiry_notice_sent_at`` is claimed with a conditional
UPDATE in the same transaction that queues the email (the outbox), so two workers,
a rerun, or a later change of ``expires_at`` never send a second one. Time is the
customer's: real time for the Beat job, the clock's frozen time when a test clock
advances (the handler registered in ``credits.apps``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from catalog.models import Price
from core.models import TestClock
from core.money import currency_exponent
from core.notifications import send_email_on_commit
from credits import selectors
from credits.models import CreditGrant

TEMPLATE = "credits/email/grant_expiring"


def expiry_notice_window() -> timedelta:
    """How long before ``expires_at`` the notice goes out; zero means never."""
    return settings.TALLY_GRANT_EXPIRY_NOTICE


def format_amount(amount: int, currency: str) -> str:
    """Minor units as people read them with the code: ``12.34 USD``, ``1,500 JPY``."""
    exponent = currency_exponent(currency)
    major = Decimal(amount).scaleb(-exponent)
    return f"{major:,.{exponent}f} {currency.upper()}"


def _applies_to(grant: CreditGrant) -> list[str]:
    """What the credits pay for, one line per price (or every metered price)."""
    if grant.scope_price_type:
        return ["All usage-based (metered) prices"]
    prices = Price.objects.select_related("product").in_bulk(grant.scope_prices)
    lines = []
    for price_id in grant.scope_prices:
        price = prices.get(price_id)
        if price is None:
            lines.append(price_id)
            continue
        label = price.product.name
        if price.nickname:
            label = f"{label} – {price.nickname}"
        lines.append(f"{label} ({price_id})")
    return lines


def _claim(grant_id: str, *, now: datetime, window: timedelta) -> bool:
    """Mark the grant as noticed if it is due and nobody did; True if we did."""
    return bool(
        CreditGrant.objects.filter(
            selectors.expiry_notice_due_q(now=now, window=window),
            pk=grant_id,
        ).update(expiry_notice_sent_at=now)
    )


def credit_grant_expiry_notice_send(*, grant_id: str, now: datetime) -> bool:
    """Queue the grant's expiring-soon email if it is due; True if queued now."""
    window = expiry_notice_window()
    if not window:
        return False
    with transaction.atomic():
        grant = (
            CreditGrant.objects.select_related("customer").filter(pk=grant_id).first()
        )
        if grant is None or not selectors.notice_recipient(grant.customer):
            return False
        if not _claim(grant_id, now=now, window=window):
            return False
        grant.refresh_from_db()  # the balance as it was when claimed
        send_email_on_commit(
            to=[grant.customer.email],
            template=TEMPLATE,
            context={
                "grant": grant,
                "customer": grant.customer,
                "grant_name": grant.name or "Billing credits",
                "remaining": format_amount(grant.balance, grant.currency),
                "granted": format_amount(grant.amount, grant.currency),
                "currency": grant.currency.upper(),
                "expires_at": grant.expires_at,
                "applies_to": _applies_to(grant),
            },
        )
    return True


def credit_grant_expiry_notices_send_due(
    *, now: datetime, test_clock: TestClock | None = None
) -> int:
    """Send the notices due at ``now``, each grant in its own short transaction.

    Without ``test_clock``: grants of customers on real time only.
    """
    window = expiry_notice_window()
    if not window:
        return 0
    grant_ids = selectors.credit_grants_expiry_notice_due(
        now=now, window=window, test_clock=test_clock
    )
    return sum(
        credit_grant_expiry_notice_send(grant_id=grant_id, now=now)
        for grant_id in grant_ids
    )
