"""v2 meter event sessions: short-lived bearer tokens for the high-throughput stream.

A session never changes after creation, so a verified token is remembered in-process
until it expires: the stream's hot path then needs no query to authenticate.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.ids import new_secret
from metering.models import MeterEventSession

SESSION_LIFETIME = timedelta(minutes=15)
# Keep expired sessions a day for support questions, then prune them.
_RETENTION = timedelta(days=1)
_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class SessionAuth:
    session_id: str
    expires_at: datetime
    livemode: bool


_cache: dict[str, SessionAuth] = {}
_cache_lock = threading.Lock()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def meter_event_session_create(
    *, now: datetime, livemode: bool = False
) -> tuple[MeterEventSession, str]:
    """Open a session valid for 15 minutes; returns it and its token (shown once)."""
    token = new_secret("mes_test" if not livemode else "mes_live")
    session = MeterEventSession.objects.create(
        token_hash=_hash(token),
        created=now,
        expires_at=now + SESSION_LIFETIME,
        livemode=livemode,
    )
    return session, token


def meter_event_session_authenticate(
    *, token: str, now: datetime
) -> SessionAuth | None:
    """Return the session of a valid token, or None (unknown or expired)."""
    token_hash = _hash(token)
    auth = _cache.get(token_hash)
    if auth is None:
        session = (
            MeterEventSession.objects.filter(token_hash=token_hash)
            .only("id", "expires_at", "livemode")
            .first()
        )
        if session is None:
            return None
        auth = SessionAuth(session.id, session.expires_at, session.livemode)
        with _cache_lock:
            if len(_cache) >= _CACHE_SIZE:
                _cache.clear()
            _cache[token_hash] = auth
    if auth.expires_at <= now:
        return None
    return auth


def meter_event_sessions_prune(*, now: datetime) -> int:
    """Delete sessions expired for more than a day; returns how many."""
    deleted, _ = MeterEventSession.objects.filter(
        expires_at__lt=now - _RETENTION
    ).delete()
    return deleted
