"""Restricted API keys: which resource a route touches, and whether a key may.

A restricted key (``rk_test_`` / ``rk_live_``) holds a level per resource, ``none``,
``read`` or ``write`` (write includes read), as Stripe's do; a secret key
(``permissions`` None) may do everything. The resource of a route is read from its
URL pattern, in this one place for every route: ``v1/billing/alerts/<id>/archive``
touches ``billing.alerts``; GET reads, any other method writes. A new route is
covered without a line here, unless it is a POST that only reads (``READ_POSTS``)
or belongs to another resource (``ALIASES``).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver

from core.errors import PermissionDenied

NONE, READ, WRITE = "none", "read", "write"
LEVELS = (NONE, READ, WRITE)
_RANK = {NONE: 0, READ: 1, WRITE: 2}
# The level of every resource a key's permissions do not name.
EVERY_RESOURCE = "*"

# The presets staff pick: read everything, or send meter events only (v1, v2 and
# their adjustments; the import command runs on the server and needs no key).
PRESETS: dict[str, dict[str, str]] = {
    "read": {EVERY_RESOURCE: READ},
    "ingest": {"billing.meter_events": WRITE},
}
PRESET_LABELS = {"read": "read-only", "ingest": "ingest-only"}

# URL segments that group resources, as Stripe's paths do (/v1/billing/meters).
_NAMESPACES = frozenset({"billing", "billing_portal", "entitlements", "test_helpers"})
ALIASES = {
    "subscription_items": "subscriptions",
    "billing.meter_event_adjustments": "billing.meter_events",
    "billing.meter_event_session": "billing.meter_events",
    "billing.meter_event_stream": "billing.meter_events",
    "entitlements.check": "entitlements.active_entitlements",
}
# POSTs that compute an answer and write nothing.
READ_POSTS = frozenset({"v1/invoices/create_preview"})
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class InsufficientPermissions(PermissionDenied):
    """A restricted key without the level a route needs: Stripe's 403, no code."""

    default_code = None


def route_resource(route: str) -> str | None:
    """The resource a URL pattern (``v1/invoices/<str:invoice_id>``) touches."""
    version, _, rest = route.partition("/")
    if version not in ("v1", "v2"):
        return None  # not an API route (or the catch-all that answers 404)
    segments = []
    for segment in rest.split("/"):
        if not segment or segment.startswith("<"):
            break
        segments.append(segment)
    if not segments:
        return None
    name = ".".join(segments[:2] if segments[0] in _NAMESPACES else segments[:1])
    return ALIASES.get(name, name)


def route_level(route: str, method: str) -> str:
    """The level a request needs: read for GET (and POSTs that only read)."""
    return READ if method in _READ_METHODS or route in READ_POSTS else WRITE


def api_routes(resolver=None, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    """Every ``/v1`` and ``/v2`` route of the URL conf, with its pattern."""
    for pattern in (resolver or get_resolver()).url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from api_routes(pattern, route)
        elif route_resource(route) is not None:
            yield route, pattern


def api_resources() -> list[str]:
    """Every resource a key may be given a level on, by name."""
    return sorted({route_resource(route) for route, _ in api_routes()})


def permissions_validate(permissions: dict[str, str]) -> dict[str, str]:
    """Return ``permissions`` if each names a known resource and level."""
    known = {*api_resources(), EVERY_RESOURCE}
    for resource, level in permissions.items():
        if resource not in known or level not in LEVELS:
            raise ValueError(f"Unknown permission {resource}={level}")
    return dict(permissions)


def permissions_summary(permissions: dict[str, str] | None) -> str:
    """How staff read a key's access: full, a preset's name, or custom."""
    if permissions is None:
        return "full access"
    for preset, granted in PRESETS.items():
        if permissions == granted:
            return PRESET_LABELS[preset]
    return "custom"


def access_check(
    *, permissions: dict[str, str] | None, redacted: str, route: str, method: str
) -> None:
    """Refuse, with Stripe's 403, a restricted key lacking what the route needs."""
    if permissions is None:
        return
    resource = route_resource(route)
    if resource is None:
        return
    needed = route_level(route, method)
    held = permissions.get(resource, permissions.get(EVERY_RESOURCE, NONE))
    if _RANK[held] >= _RANK[needed]:
        return
    permission = f"rak_{resource.replace('.', '_')}_{needed}"
    raise InsufficientPermissions(
        f"The provided key '{redacted}' does not have the required permissions for "
        f"this endpoint. Having the '{permission}' permission would allow this "
        "request to continue."
    )
