"""Secrets never reach a log line: API keys, webhook secrets, link tokens, passwords
in URLs.

Django logs the path of every 4xx ("Not Found: /customer/cps_…/invoices/x/"), and
a customer page's or a hosted invoice's path *is* its secret; an exception's text
may quote a key. Every line the web process writes (the console handler in
``config.settings.LOGGING``, gunicorn's access log in ``config/gunicorn.conf.py``)
goes through :func:`redact`, which keeps a secret's kind and hides the rest.
"""

from __future__ import annotations

import logging
import re

# A secret's kind stays readable ("sk_test_…"): enough to tell which key it was not.
_SECRETS = re.compile(
    r"\b(?P<kind>(?:sk|rk|pk|mes)_(?:test|live)_|whsec_|cps_)"
    r"[A-Za-z0-9_\-]{6,}"
)
# Links whose path segment is the secret itself: /customer/<token>/, /i/<token>/.
_LINKS = re.compile(r"(?P<kind>/(?:customer|i)/)[A-Za-z0-9_\-]{16,}")
# Credentials in a URL (a webhook endpoint's, a database's): scheme://user:pass@host.
_USERINFO = re.compile(r"(?P<kind>[a-z][a-z0-9+.\-]*://)[^/@\s]+@", re.IGNORECASE)
HIDDEN = "[redacted]"


def redact(text: str) -> str:
    """``text`` with every secret and secret link token replaced."""
    text = _SECRETS.sub(lambda found: found["kind"] + HIDDEN, text)
    text = _USERINFO.sub(lambda found: found["kind"] + HIDDEN + "@", text)
    return _LINKS.sub(lambda found: found["kind"] + HIDDEN, text)


class RedactingFormatter(logging.Formatter):
    """A formatter whose lines (message, arguments, traceback) are redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def gunicorn_logger_class():
    """gunicorn's logger with redacted access lines (``logger_class`` setting)."""
    from gunicorn.glogging import Logger

    class RedactingLogger(Logger):
        def atoms(self, resp, req, environ, request_time):
            atoms = super().atoms(resp, req, environ, request_time)
            return {
                key: redact(value) if isinstance(value, str) else value
                for key, value in atoms.items()
            }

    return RedactingLogger
