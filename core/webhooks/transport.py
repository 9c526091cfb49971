"""Where a webhook leaves the process: one POST, with timeouts, never redirected.

The POST goes straight through urllib3 (the pools of ``addresses``), without
``requests``: a session's per-request work (merging settings, preparing and
re-parsing the request, cookies, hooks) cost more CPU than the rest of a delivery
together, and an ordered lane sends one delivery after the other, so a worker's
CPU per POST is the lane's pace (bench webhooks).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import urllib3
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from core.models import WebhookDeliveryAttempt
from core.webhooks.addresses import GUARDED_POOLS

# Read at most this much of an answer (bytes); the excerpt keeps the first 2 KB.
_READ_LIMIT = 64 * 1024
_local = threading.local()


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    status_code: int | None
    duration_ms: int
    excerpt: str
    error: str


def _pools() -> urllib3.PoolManager:
    """Keep-alive connections per thread (Celery workers reuse them).

    Made on first use, so in each worker process after the fork; one connection
    pool per endpoint host, for as many hosts as there may be endpoints. Connections
    refuse addresses webhooks may not target (SSRF, ``addresses``).
    """
    pools = getattr(_local, "pools", None)
    if pools is None:
        hosts = max(settings.TALLY_WEBHOOK_MAX_ENDPOINTS, 10)
        pools = _local.pools = urllib3.PoolManager(num_pools=hosts, retries=False)
        pools.pool_classes_by_scheme = GUARDED_POOLS
    return pools


def _read_excerpt(response: urllib3.BaseHTTPResponse) -> str:
    """The answer's first bytes; the connection is kept only if it was read whole."""
    received = bytearray()
    whole = False
    while len(received) < _READ_LIMIT:
        chunk = response.read(8192)
        if not chunk:
            whole = True
            break
        received.extend(chunk)
    if not whole:  # the rest is not read: the connection cannot serve another POST
        response.close()
    response.release_conn()
    limit = WebhookDeliveryAttempt.EXCERPT_LIMIT
    return bytes(received[:limit]).decode("utf-8", errors="replace")[:limit]


def post(*, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST ``body``; a 2xx answer is a success, anything else a failure."""
    timeout = (
        settings.TALLY_WEBHOOK_CONNECT_TIMEOUT,
        settings.TALLY_WEBHOOK_READ_TIMEOUT,
    )
    started = time.perf_counter()
    status_code, excerpt, error = None, "", ""
    try:
        response = _pools().urlopen(
            "POST",
            url,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]),
            redirect=False,
            retries=False,
            preload_content=False,
        )
        try:
            status_code = response.status
            excerpt = _read_excerpt(response)
        except BaseException:
            response.close()
            response.release_conn()
            raise
    except ConnectTimeoutError:
        error = f"Timed out connecting (timeouts {timeout[0]:g} s / {timeout[1]:g} s)."
    except Urllib3Timeout:
        error = f"Timed out reading (timeouts {timeout[0]:g} s / {timeout[1]:g} s)."
    except (NewConnectionError, ProtocolError, SSLError) as exc:
        error = f"Could not connect: {_reason(exc)}"
    except (HTTPError, OSError, ValueError) as exc:
        error = f"Request failed: {_reason(exc)}"
    except SoftTimeLimitExceeded:
        error = "The delivery task ran out of time."
    duration_ms = max(0, round((time.perf_counter() - started) * 1000))
    succeeded = status_code is not None and 200 <= status_code < 300
    if succeeded:
        error = ""  # answered 2xx; a broken body after that does not matter
    elif status_code is not None:
        error = f"The endpoint answered HTTP {status_code}."
        if 300 <= status_code < 400:
            error += " Redirects are not followed; use the final URL."
    return Outcome(
        succeeded=succeeded,
        status_code=status_code,
        duration_ms=duration_ms,
        excerpt=excerpt,
        error=error[:500],
    )


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text[:400]
