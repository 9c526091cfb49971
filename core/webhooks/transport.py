"""Where a webhook leaves the process: one POST, with timeouts, never redirected."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import requests
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from requests.adapters import HTTPAdapter

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


class _GuardedAdapter(HTTPAdapter):
    """Connections that refuse addresses webhooks may not target (SSRF)."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = GUARDED_POOLS


def _session() -> requests.Session:
    """A keep-alive session per thread (Celery workers reuse connections).

    Made on first use, so in each worker process after the fork; it keeps one
    connection pool per endpoint host, for as many hosts as there may be endpoints.
    """
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.trust_env = False  # no proxies or .netrc from the worker's env
        hosts = max(settings.TALLY_WEBHOOK_MAX_ENDPOINTS, 10)
        for prefix in ("http://", "https://"):
            session.mount(prefix, _GuardedAdapter(pool_connections=hosts))
    return session


def _read_excerpt(response: requests.Response) -> str:
    received = bytearray()
    for chunk in response.iter_content(chunk_size=8192):
        received.extend(chunk)
        if len(received) >= _READ_LIMIT:
            break
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
        with _session().post(
            url,
            data=body,
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        ) as response:
            status_code = response.status_code
            excerpt = _read_excerpt(response)
    except requests.Timeout as exc:
        kind = "connecting" if isinstance(exc, requests.ConnectTimeout) else "reading"
        error = f"Timed out {kind} (timeouts {timeout[0]:g} s / {timeout[1]:g} s)."
    except requests.ConnectionError as exc:
        error = f"Could not connect: {_reason(exc)}"
    except requests.RequestException as exc:
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
