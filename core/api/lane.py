"""A lean WSGI lane for the API's busiest endpoints (meter events).

Django's full request path costs about a millisecond of CPU per request on a small
host (twelve middleware, URL resolving, the view machinery): more than recording a
meter event, whose endpoint must take a thousand requests a second. The lane serves
the endpoints apps register (``register``) in front of Django, doing only what
those requests need, the way the full path does it:

- ``SecurityMiddleware`` runs as usual (its redirect to HTTPS, its headers), as do
  the ``X-Frame-Options`` header, ``Content-Length``, Django's request signals
  (database connections are checked and recycled the same way) and its logging of
  4xx and 5xx responses;
- the request gets its ``Request-Id`` and context (``core.context``), and the API
  key is authenticated as ``ApiKeyMiddleware`` does it (``authenticated_key``),
  its mode made the request's (``core.modes``);
- a crash answers Stripe's 500 envelope, as ``ApiErrorMiddleware`` does.

Per-key rate limits apply as in ``ApiKeyMiddleware`` (meter events are exempt there).
Anything unusual goes to Django untouched: another method or path, a query string
(unless the route reads one), a body too large or without length, a missing or
unknown key (Django answers the 401), or a handler that declines (returns None).
The parity tests hold the two paths to the same answers.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core import signals
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.utils.log import log_response

from core import context as request_context
from core import modes
from core.api.errors import error_body, unexpected_error
from core.api.middleware import authenticated_key
from core.api.ratelimit import rate_limit_request
from core.errors import RateLimited, TallyError
from core.ids import new_id
from core.models import ApiKey

logger = logging.getLogger("core.api.middleware")


@dataclass(frozen=True, slots=True)
class LaneRequest:
    """What a lane handler reads: the WSGI request, its body, the key (if any)."""

    request: WSGIRequest
    body: bytes
    api_key: ApiKey | None


@dataclass(frozen=True, slots=True)
class LaneResponse:
    """A JSON answer: status, body bytes, extra headers."""

    status: int
    content: bytes
    headers: tuple[tuple[str, str], ...] = ()


Handler = Callable[[LaneRequest], "LaneResponse | None"]


@dataclass(frozen=True, slots=True)
class _Route:
    handler: Handler
    with_api_key: bool
    with_query: bool


_routes: dict[tuple[str, str], _Route] = {}


def register(
    method: str,
    path: str,
    handler: Handler,
    *,
    with_api_key: bool,
    with_query: bool = False,
) -> None:
    """Serve ``method path`` by ``handler``; ``with_api_key`` authenticates first
    (otherwise the handler does, e.g. with a v2 session token); ``with_query``
    lets requests with a query string reach the handler (which reads it)."""
    _routes[(method, path)] = _Route(handler, with_api_key, with_query)


def _never_called(request):  # the middleware below only post-process responses
    raise AssertionError("the lane calls the middleware's hooks directly")


class LaneApplication:
    """The WSGI application: the lane for registered endpoints, Django otherwise."""

    def __init__(self, django_application) -> None:
        self.django = django_application
        self.security = SecurityMiddleware(_never_called)
        self.frame_options = XFrameOptionsMiddleware(_never_called)

    def __call__(self, environ, start_response):
        route = _routes.get((environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")))
        if route is None or (environ.get("QUERY_STRING") and not route.with_query):
            return self.django(environ, start_response)
        body = _body(environ)
        if body is None:
            return self.django(environ, start_response)
        # Read once; the request (and Django, if the lane hands it over) reads it again.
        environ["wsgi.input"] = io.BytesIO(body)
        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            response = self._serve(route, WSGIRequest(environ), body)
        finally:
            signals.request_finished.send(sender=self.__class__)
        if response is None:
            environ["wsgi.input"].seek(0)
            return self.django(environ, start_response)
        start_response(
            f"{response.status_code} {response.reason_phrase}",
            list(response.items()),
        )
        return [response.content]

    def _serve(self, route: _Route, request: WSGIRequest, body: bytes):
        redirect = self.security.process_request(request)
        if redirect is not None:
            return None
        api_key = None
        if route.with_api_key:
            api_key = authenticated_key(request.META.get("HTTP_AUTHORIZATION", ""))
            if api_key is None:
                return None  # Django answers the 401
        request_id = new_id("req", length=14)
        token = request_context.activate(
            request_context.RequestContext(
                request_id=request_id,
                idempotency_key=request.META.get("HTTP_IDEMPOTENCY_KEY"),
                livemode=api_key.livemode if api_key is not None else False,
            )
        )
        # As ApiKeyMiddleware: the key's mode only (a session-token route sets its own).
        mode_token = modes.activate(api_key.livemode if api_key is not None else None)
        try:
            answer = _rate_limited(api_key, request) or _answer(
                route, LaneRequest(request, body, api_key)
            )
        finally:
            modes.reset(mode_token)
            request_context.reset(token)
        if answer is None:
            return None
        response = HttpResponse(
            answer.content, status=answer.status, content_type="application/json"
        )
        for name, value in answer.headers:
            response[name] = value
        if answer.status == 304:  # no body, so no type (as DRF answers it)
            del response["Content-Type"]
        # In the order Django's middleware would (their list, read backwards).
        response = self.frame_options.process_response(request, response)
        response["Content-Length"] = str(len(response.content))
        response = self.security.process_response(request, response)
        response["Request-Id"] = request_id
        if response.status_code >= 400:
            log_response(
                "%s: %s",
                response.reason_phrase,
                request.path,
                response=response,
                request=request,
            )
        return response


def _rate_limited(api_key: ApiKey | None, request: WSGIRequest) -> LaneResponse | None:
    """The 429 that ``ApiKeyMiddleware`` would give this key now, if any."""
    if api_key is None:
        return None
    try:
        rate_limit_request(api_key=api_key, method=request.method, path=request.path)
    except RateLimited as error:
        return LaneResponse(
            error.http_status,
            json.dumps(error_body(error)).encode(),
            (("Retry-After", "1"),),
        )
    return None


def _answer(route: _Route, call: LaneRequest) -> LaneResponse | None:
    try:
        return route.handler(call)
    except TallyError as error:
        return error_response(error)
    except Exception:
        logger.exception(
            "Unhandled error on %s %s", call.request.method, call.request.path
        )
        return error_response(unexpected_error())


def error_response(error: TallyError) -> LaneResponse:
    """Stripe's error envelope, as ``plain_error_response`` writes it."""
    return LaneResponse(error.http_status, json.dumps(error_body(error)).encode())


def _body(environ) -> bytes | None:
    """The request body, if it has a length Django would accept; else None."""
    if not environ.get("CONTENT_LENGTH") and environ["REQUEST_METHOD"] == "GET":
        return b""
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if length < 0 or (limit is not None and length > limit):
        return None
    return environ["wsgi.input"].read(length)
