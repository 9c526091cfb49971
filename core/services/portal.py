"""Customer page links (Stripe's ``billing_portal.session``): create, open, revoke.

A link is ``/customer/<secret>/``. Whoever holds it sees that one customer's
usage, subscriptions, invoices and credits until it expires, so it is made like an
API key: random, shown once, stored hashed. Links expire by wall-clock time even
for customers on a test clock: a test clock simulates billing time, not how long
a link in somebody's inbox stays valid.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse

from core.errors import InvalidRequest
from core.ids import new_secret
from core.models import Customer, PortalSession
from core.services.api_keys import hash_secret

# Secrets in links are "cps_" + 32 random characters: the URL never holds the id.
SECRET_PREFIX = "cps"


def link_lifetime() -> timedelta:
    return timedelta(seconds=settings.TALLY_CUSTOMER_PAGE_TTL)


def customer_page_path(secret: str) -> str:
    return reverse("portal:overview", kwargs={"token": secret})


def portal_session_create(
    *,
    customer: Customer,
    now: datetime,
    return_url: str | None = None,
    lifetime: timedelta | None = None,
    base_url: str = "",
) -> PortalSession:
    """Make a new link for ``customer``; ``session.url`` holds it, once.

    ``base_url`` (scheme and host, e.g. from the request) makes the URL absolute.
    """
    if customer.deleted:
        raise InvalidRequest(
            "The customer has been deleted.", param="customer", code="resource_missing"
        )
    secret = new_secret(SECRET_PREFIX)
    session = PortalSession.objects.create(
        customer=customer,
        secret_hash=hash_secret(secret),
        return_url=return_url or None,
        livemode=customer.livemode,
        created=now,
        expires_at=now + (lifetime or link_lifetime()),
    )
    session.url = f"{base_url.rstrip('/')}{customer_page_path(secret)}"
    return session


def portal_session_open(*, secret: str, now: datetime) -> PortalSession | None:
    """The live session behind a link, or None if unknown, expired or revoked."""
    session = (
        PortalSession.objects.select_related("customer", "customer__test_clock")
        .filter(
            secret_hash=hash_secret(secret),
            revoked_at__isnull=True,
            expires_at__gt=now,
            customer__deleted=False,
        )
        .first()
    )
    if session is not None and _stale(session.last_opened_at, now):
        # Kept coarse (once a minute) so reading pages does not write every time.
        PortalSession.objects.filter(pk=session.pk).update(last_opened_at=now)
    return session


def _stale(last_opened_at: datetime | None, now: datetime) -> bool:
    return last_opened_at is None or now - last_opened_at >= timedelta(minutes=1)


def portal_sessions_revoke(*, customer: Customer, now: datetime) -> int:
    """Revoke every live link of ``customer``; returns how many were live."""
    return PortalSession.objects.filter(
        customer=customer, revoked_at__isnull=True, expires_at__gt=now
    ).update(revoked_at=now)
