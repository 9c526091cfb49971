"""Request ids, API keys, idempotency and JSON errors for ``/v1`` and ``/v2``.

These run as Django middleware (not DRF hooks) so that every response under the API
prefixes, including unknown routes and crashes, speaks Stripe's envelope, and so that
idempotency sees the raw request before any view runs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from urllib.parse import parse_qsl

from django.http import HttpResponse

from core import clock, modes
from core import context as request_context
from core.api.errors import plain_error_response, to_tally_error, unexpected_error
from core.api.ratelimit import rate_limit_request
from core.errors import (
    AuthenticationFailed,
    InvalidRequest,
    RateLimited,
    ResourceMissing,
    TallyError,
)
from core.ids import new_id
from core.services import api_keys, idempotency

logger = logging.getLogger(__name__)

API_PREFIXES = ("/v1/", "/v2/")
# Paths that authenticate with something other than a secret key (v2 session tokens).
KEYLESS_PATHS = ("/v2/billing/meter_event_stream",)
# Test helpers (test clocks) exist in test mode only, as in Stripe.
TEST_MODE_PATHS = ("/v1/test_helpers/",)


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


class RequestIdMiddleware:
    """Give every request a ``req_`` id, echoed as the ``Request-Id`` header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = new_id("req", length=14)
        token = request_context.activate(
            request_context.RequestContext(
                request_id=request.request_id,
                idempotency_key=request.headers.get("Idempotency-Key"),
            )
        )
        try:
            response = self.get_response(request)
        finally:
            request_context.reset(token)
        response["Request-Id"] = request.request_id
        return response


class ApiErrorMiddleware:
    """Turn a failure under the API prefixes into Stripe's envelope."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # No id holds a NUL, and PostgreSQL refuses one in any text it is sent.
        if "\x00" in request.path and is_api_path(request.path):
            return plain_error_response(
                ResourceMissing(
                    f"Unrecognized request URL ({request.method}: "
                    f"{request.path.replace(chr(0), '%00')})."
                )
            )
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_api_path(request.path):
            return None
        error = to_tally_error(exception)
        if error is None:
            logger.exception("Unhandled error on %s %s", request.method, request.path)
            error = unexpected_error()
        return plain_error_response(error)


def _secret_from_header(header: str) -> str | None:
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return credentials or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0] or None
    return None


def _authenticate(header: str):
    """The API key of an ``Authorization`` header, or the 401 that refuses it."""
    secret = _secret_from_header(header)
    if secret is None:
        raise AuthenticationFailed(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY')."
        )
    api_key = api_keys.api_key_authenticate(secret=secret, now=clock.now())
    if api_key is None:
        raise AuthenticationFailed(
            f"Invalid API Key provided: {api_keys.redact(secret)}"
        )
    return api_key


def authenticated_key(header: str):
    """The API key of an ``Authorization`` header, or None (``core.api.lane``)."""
    try:
        return _authenticate(header)
    except AuthenticationFailed:
        return None


class ApiKeyMiddleware:
    """Authenticate API requests with a secret key (Bearer or Basic)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.api_key = None
        if not is_api_path(request.path) or request.path.startswith(KEYLESS_PATHS):
            return self.get_response(request)
        try:
            api_key = _authenticate(request.headers.get("Authorization", ""))
            rate_limit_request(
                api_key=api_key, method=request.method, path=request.path
            )
        except AuthenticationFailed as error:
            return plain_error_response(error)
        except RateLimited as error:
            response = plain_error_response(error)
            response["Retry-After"] = "1"
            return response
        request.api_key = api_key
        if api_key.livemode and request.path.startswith(TEST_MODE_PATHS):
            return plain_error_response(
                InvalidRequest(
                    "This endpoint is only available in test mode. Try using your "
                    "test keys instead.",
                    code="livemode_mismatch",
                )
            )
        current = request_context.current()
        token = request_context.activate(
            request_context.RequestContext(
                request_id=current.request_id,
                idempotency_key=current.idempotency_key,
                livemode=api_key.livemode,
                actor=f"api_key:{api_key.id}",
            )
        )
        # The key's mode is the only one the request sees and writes (core.modes).
        mode_token = modes.activate(api_key.livemode)
        try:
            return self.get_response(request)
        finally:
            modes.reset(mode_token)
            request_context.reset(token)


def request_fingerprint(request) -> str:
    """Hash what makes two requests "the same": method, path and parameters."""
    body = request.body
    if request.content_type == "application/x-www-form-urlencoded":
        pairs = sorted(
            parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        )
        body = repr(pairs).encode()
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


class IdempotencyMiddleware:
    """Replay the first response to a POST carrying a reused ``Idempotency-Key``.

    The key is claimed once the URL is resolved (``process_view``), so that a view
    class may set ``idempotency_exempt = True`` when it makes retries safe itself
    (meter events: the event identifier) and the claim's two extra commits would
    dominate its cost.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        begun = getattr(request, "idempotency_begun", None)
        if begun is not None:
            idempotency.idempotency_finish(
                record=begun.record,
                status=response.status_code,
                body=response.content,
                error_code=getattr(response, "tally_error_code", None),
            )
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        key = request.headers.get("Idempotency-Key")
        api_key = getattr(request, "api_key", None)
        if request.method != "POST" or not key or api_key is None:
            return None
        if getattr(getattr(view_func, "cls", view_func), "idempotency_exempt", False):
            return None
        if len(key) > 255:
            return plain_error_response(
                InvalidRequest(
                    "Idempotency-Key must be at most 255 characters.",
                    param="Idempotency-Key",
                )
            )
        try:
            begun = idempotency.idempotency_begin(
                api_key=api_key,
                key=key,
                fingerprint=request_fingerprint(request),
                request_id=request.request_id,
                now=clock.now(),
            )
        except TallyError as error:
            return plain_error_response(error)
        if begun.replay is not None:
            replay = HttpResponse(
                bytes(begun.replay.response_body),
                status=begun.replay.response_status,
                content_type="application/json",
            )
            replay["Idempotent-Replayed"] = "true"
            replay["Original-Request"] = begun.replay.request_id
            return replay
        request.idempotency_begun = begun
        return None
