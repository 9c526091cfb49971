"""Per-key API rate limits: a one-second sliding window per secret key.

Reads (GET, HEAD) and writes count apart, as Stripe's limits do. The window slides
by weighting the previous second's count by the part of it still inside the window
(two counters per key, not a log of every request). Counters live in Redis when
one is configured, shared by every web process; otherwise in each process (the
embedded setup: the limit applies per gunicorn worker). If Redis cannot be reached
requests are let through: a limiter must not take the API down with it.

Meter event ingestion is not limited here: its paths take far more requests than
the rest of the API by design, and the import command is the way to send more.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from functools import lru_cache

from django.conf import settings

from core.errors import RateLimited

logger = logging.getLogger(__name__)

EXEMPT_PATHS = ("/v1/billing/meter_events", "/v2/billing/meter_event")
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
# Redis keys outlive the two windows they are read in.
_KEY_TTL_SECONDS = 3


class _LocalCounters:
    """This process's counters: per bucket, (window, its count, the previous one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, int, int]] = {}

    def hit(self, bucket: str, window: int) -> tuple[int, int]:
        with self._lock:
            seen, current, previous = self._counts.get(bucket, (window, 0, 0))
            if seen != window:
                previous = current if seen == window - 1 else 0
                current = 0
            current += 1
            self._counts[bucket] = (window, current, previous)
            return current, previous


class _RedisCounters:
    """Counters shared by every process: one round trip per request."""

    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(
            url, socket_timeout=0.25, socket_connect_timeout=0.25
        )

    def hit(self, bucket: str, window: int) -> tuple[int, int]:
        pipe = self._client.pipeline(transaction=False)
        pipe.incr(f"tally:rl:{bucket}:{window}")
        pipe.expire(f"tally:rl:{bucket}:{window}", _KEY_TTL_SECONDS)
        pipe.get(f"tally:rl:{bucket}:{window - 1}")
        current, _, previous = pipe.execute()
        return int(current), int(previous or 0)


@lru_cache(maxsize=4)
def _counters(redis_url: str) -> _LocalCounters | _RedisCounters:
    return _RedisCounters(redis_url) if redis_url else _LocalCounters()


def limit_for(method: str) -> int:
    if method in _READS:
        return settings.TALLY_RATE_LIMIT_READ
    return settings.TALLY_RATE_LIMIT_WRITE


def rate_limit_check(*, key_id: str, method: str, path: str, now: float) -> None:
    """Count one request of ``key_id``; raise RateLimited past the key's limit.

    ``now`` is wall-clock unix seconds (``clock.now().timestamp()``); a limit of 0
    turns it off.
    """
    limit = limit_for(method)
    if limit <= 0 or path.startswith(EXEMPT_PATHS):
        return
    kind = "read" if method in _READS else "write"
    window = math.floor(now)
    try:
        current, previous = _counters(settings.TALLY_RATE_LIMIT_REDIS_URL).hit(
            f"{key_id}:{kind}", window
        )
    except Exception as exc:  # noqa: BLE001 - any Redis failure: let it through
        logger.warning("Rate limiter unavailable, request allowed: %s", exc)
        return
    estimate = previous * (1 - (now - window)) + current
    if estimate > limit:
        raise RateLimited(
            f"Too many {kind} requests with this API key: at most {limit} per "
            "second. Please retry after a short pause."
        )


def rate_limit_request(*, api_key, method: str, path: str) -> None:
    """``rate_limit_check`` for one request of ``api_key`` now (wall clock)."""
    rate_limit_check(key_id=str(api_key.pk), method=method, path=path, now=time.time())
