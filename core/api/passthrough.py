"""The browser's middleware, skipped by requests under the API prefixes.

The API authenticates each request with its key (``ApiKeyMiddleware``); it reads no
session, user, flash message or login throttle. So sessions, ``request.user`` and
messages do nothing useful for ``/v1`` and ``/v2``, and each of them still cost
work per request (a lazy session store, a lazy user, message storages, their
response hooks). These subclasses behave exactly as Django's own for every other
path (the dashboard, customer pages, the login form). CSRF, the security headers
and django-axes (which only reads a flag set by a login attempt, and whose system
check wants its own class) still run for every request.
"""

from __future__ import annotations

from django.contrib.auth.middleware import (
    AuthenticationMiddleware as _AuthenticationMiddleware,
)
from django.contrib.messages.middleware import MessageMiddleware as _MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as _SessionMiddleware

from core.api.middleware import API_PREFIXES


def _skipped_by_api(middleware: type) -> type:
    """``middleware``, passing requests under the API prefixes straight on."""

    class BrowserOnly(middleware):
        def __call__(self, request):
            if request.path.startswith(API_PREFIXES):
                return self.get_response(request)
            return super().__call__(request)

    BrowserOnly.__name__ = BrowserOnly.__qualname__ = middleware.__name__
    BrowserOnly.__doc__ = f"{middleware.__doc__ or ''} (not for the API)"
    return BrowserOnly


SessionMiddleware = _skipped_by_api(_SessionMiddleware)
AuthenticationMiddleware = _skipped_by_api(_AuthenticationMiddleware)
MessageMiddleware = _skipped_by_api(_MessageMiddleware)
