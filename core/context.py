"""Per-request facts that events record: request id, idempotency key, livemode,
and the actor (``core.audit``): who made the change."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str | None = None
    idempotency_key: str | None = None
    livemode: bool = False
    # "user:<username>", "api_key:<key id>" or "job:<task name>" (core.audit).
    actor: str | None = None


_EMPTY = RequestContext()
_current: ContextVar[RequestContext | None] = ContextVar("tally_request", default=None)


def current() -> RequestContext:
    """Return the context of the API request being served (empty for jobs)."""
    return _current.get() or _EMPTY


def activate(context: RequestContext):
    """Set the context; returns a token for ``reset``."""
    return _current.set(context)


def reset(token) -> None:
    _current.reset(token)
