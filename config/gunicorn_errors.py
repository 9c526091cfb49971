"""gunicorn's own refusals (bad request line, headers too large) as Stripe's envelope.

gunicorn answers requests it cannot parse before any application code runs, with a
small HTML page and no hook to change it; ``config/gunicorn.conf.py`` replaces the
one function that writes that page. The request's path is unknown at that point, so
every such refusal (API or dashboard) is JSON.
"""

from __future__ import annotations

import json

from gunicorn import util

# gunicorn's statuses for what it refuses, as Stripe's error codes.
_CODES = {400: "invalid_request", 414: "request_uri_too_long", 431: "headers_too_large"}


def write_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """Write ``{"error": {...}}`` where gunicorn writes its HTML error page."""
    body = json.dumps(
        {
            "error": {
                "type": "invalid_request_error",
                "code": _CODES.get(status_int, "invalid_request"),
                "message": f"{reason}: {mesg}" if mesg else reason,
                "param": None,
            }
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    util.write_nonblock(sock, head + body)


def install() -> None:
    util.write_error = write_error
