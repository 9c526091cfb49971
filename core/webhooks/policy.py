"""Webhook rules that need no database: URLs, event types, the retry schedule."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import validate_host

from core.errors import InvalidRequest
from core.webhooks import addresses

# Backoff after the 1st, 2nd, ... failed attempt; the last delay repeats.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
)
# The "send test event" type: sent only to the endpoint it is sent from, never to
# endpoints listening to "*".
TEST_EVENT_TYPE = "ping"
EXPLICIT_ONLY_EVENT_TYPES = frozenset({TEST_EVENT_TYPE})
ALL_EVENTS = "*"
MAX_ENABLED_EVENTS = 500

# The events Tally records, for pickers in the dashboard. Any well-formed type is
# accepted from the API, as integrations written for Stripe list their own.
KNOWN_EVENT_TYPES = (
    "billing.alert.triggered",
    "billing.commitment.created",
    "billing.commitment.voided",
    "billing.credit_balance_transaction.created",
    "billing.credit_grant.created",
    "billing.credit_grant.updated",
    "billing.meter.created",
    "billing.meter.deactivated",
    "billing.meter.reactivated",
    "billing.meter.updated",
    "coupon.created",
    "coupon.deleted",
    "coupon.updated",
    "credit_note.created",
    "credit_note.updated",
    "credit_note.voided",
    "customer.created",
    "entitlements.active_entitlement_summary.updated",
    "customer.deleted",
    "customer.discount.created",
    "customer.discount.deleted",
    "customer.discount.updated",
    "customer.subscription.created",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "customer.subscription.trial_will_end",
    "customer.subscription.updated",
    "customer.tax_id.created",
    "customer.tax_id.deleted",
    "customer.tax_id.updated",
    "customer.updated",
    "invoice.created",
    "invoice.deleted",
    "invoice.finalization_failed",
    "invoice.finalized",
    "invoice.marked_uncollectible",
    "invoice.paid",
    "invoice.payment_action_required",
    "invoice.payment_failed",
    "invoice.payment_succeeded",
    "invoice.sent",
    "invoice.updated",
    "invoice.voided",
    "invoiceitem.created",
    "invoiceitem.deleted",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "payment_intent.succeeded",
    "payment_method.attached",
    "payment_method.detached",
    "payment_method.updated",
    "price.created",
    "price.deleted",
    "price.updated",
    "product.created",
    "product.deleted",
    "product.updated",
    "promotion_code.created",
    "promotion_code.updated",
    "refund.created",
    "refund.failed",
    "refund.updated",
    "tax_rate.created",
    "tax_rate.updated",
    "test_helpers.test_clock.advancing",
    "test_helpers.test_clock.created",
    "test_helpers.test_clock.deleted",
    "test_helpers.test_clock.internal_failure",
    "test_helpers.test_clock.ready",
)

_EVENT_TYPE = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)+")
# Host names as resolvers accept them (underscores included: container names).
_HOST = re.compile(r"[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?")


def _url_invalid(message: str) -> InvalidRequest:
    return InvalidRequest(message, param="url", code="url_invalid")


def _is_ipv6(host: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address)
    except ValueError:
        return False


def validate_url(url: str) -> str:
    """Return ``url`` if it is an http(s) URL to an allowed host, else 400."""
    url = url.strip()
    if not url or len(url) > 2048 or any(char.isspace() for char in url):
        raise _url_invalid(f"Invalid URL: {url!r}.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise _url_invalid("Invalid URL: the scheme must be http or https.")
    try:
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError as exc:
        raise _url_invalid(f"Invalid URL: bad port in {url!r}.") from exc
    host = parts.hostname or ""
    if not (_HOST.fullmatch(host) or _is_ipv6(host)):
        raise _url_invalid(f"Invalid URL: {url!r} has no valid host.")
    allowed = list(settings.TALLY_WEBHOOK_ALLOWED_HOSTS)
    if allowed and not validate_host(f"[{host}]" if _is_ipv6(host) else host, allowed):
        raise _url_invalid(
            f"Webhook URLs must point at an allowed host; {host!r} is not one "
            "(setting TALLY_WEBHOOK_ALLOWED_HOSTS)."
        )
    blocked = addresses.blocked_address(host)
    if blocked is not None:
        raise _url_invalid(
            f"Webhook URLs may not target loopback, private or reserved addresses; "
            f"{host!r} is {blocked} (setting TALLY_WEBHOOK_ALLOWED_NETWORKS)."
        )
    return url


def validate_enabled_events(types: Iterable[str]) -> list[str]:
    """Return the event types without duplicates; ``["*"]`` if ``*`` is among them."""
    cleaned: list[str] = []
    for index, event_type in enumerate(types):
        event_type = str(event_type).strip()
        if event_type == ALL_EVENTS:
            return [ALL_EVENTS]
        if not _EVENT_TYPE.fullmatch(event_type):
            raise InvalidRequest(
                f"Invalid enabled_events[{index}]: {event_type!r} is not an event "
                "type such as 'invoice.finalized', or '*' for all events.",
                param="enabled_events",
            )
        if event_type not in cleaned:
            cleaned.append(event_type)
    if not cleaned:
        raise InvalidRequest(
            "enabled_events must list at least one event type, or '*'.",
            param="enabled_events",
            code="parameter_missing",
        )
    if len(cleaned) > MAX_ENABLED_EVENTS:
        raise InvalidRequest(
            f"enabled_events may list at most {MAX_ENABLED_EVENTS} types.",
            param="enabled_events",
        )
    return cleaned


def endpoint_wants(enabled_events: list[str], event_type: str) -> bool:
    """Whether an endpoint listening to ``enabled_events`` gets ``event_type``."""
    if event_type in EXPLICIT_ONLY_EVENT_TYPES:
        return False
    return ALL_EVENTS in enabled_events or event_type in enabled_events


def retry_delay(failed_attempts: int) -> timedelta:
    """The wait after the ``failed_attempts``-th failed attempt (1-based)."""
    index = min(max(failed_attempts, 1), len(RETRY_DELAYS)) - 1
    return RETRY_DELAYS[index]


def next_attempt_at(
    *, first_at: datetime, attempted_at: datetime, failed_attempts: int
) -> datetime | None:
    """When to try again after a failure; None once the retry window has passed.

    The window starts at the first attempt; the last retry is at its end exactly,
    so an endpoint that fails the whole window is seen failing for all of it.
    """
    deadline = first_at + settings.TALLY_WEBHOOK_RETRY_FOR
    if attempted_at >= deadline:
        return None
    return min(attempted_at + retry_delay(failed_attempts), deadline)
