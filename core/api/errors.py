"""Render every failure as Stripe's ``{"error": {type, code, message, param}}``."""

from __future__ import annotations

import json
import logging
import sys

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse
from django.views import defaults
from rest_framework import exceptions as drf
from rest_framework.response import Response

from core.errors import (
    ApiError,
    AuthenticationFailed,
    InvalidRequest,
    PermissionDenied,
    ResourceMissing,
    TallyError,
)

logger = logging.getLogger(__name__)

# DRF's error codes, in Stripe's words.
_CODES = {
    "required": "parameter_missing",
    "null": "parameter_missing",
    "blank": "parameter_invalid_empty",
    "parameter_unknown": "parameter_unknown",
}


def error_body(error: TallyError) -> dict:
    return {"error": error.as_dict()}


def error_response(error: TallyError) -> Response:
    response = Response(error_body(error), status=error.http_status)
    response.tally_error_code = error.code
    return response


def plain_error_response(error: TallyError) -> HttpResponse:
    """An error response for code paths outside DRF (middleware, URL fallbacks)."""
    response = HttpResponse(
        json.dumps(error_body(error)),
        status=error.http_status,
        content_type="application/json",
    )
    response.tally_error_code = error.code
    return response


def _first_error(detail, path: tuple = ()) -> tuple[tuple, drf.ErrorDetail] | None:
    """Find the first leaf error in DRF's nested detail, with its parameter path."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == "non_field_errors":
                found = _first_error(value, path)
            else:
                found = _first_error(value, (*path, key))
            if found:
                return found
    elif isinstance(detail, list):
        leaves = [item for item in detail if isinstance(item, str)]
        if leaves:
            return path, leaves[0]
        for index, value in enumerate(detail):
            found = _first_error(value, (*path, index) if value else path)
            if found:
                return found
    elif isinstance(detail, str):
        return path, detail
    return None


def param_name(path: tuple) -> str | None:
    """Write a path the way Stripe names parameters: ``items[0][price]``."""
    if not path:
        return None
    head, *rest = path
    return str(head) + "".join(f"[{part}]" for part in rest)


def validation_error(exc: drf.ValidationError) -> InvalidRequest:
    found = _first_error(exc.detail)
    if not found:
        return InvalidRequest("Invalid request.")
    path, detail = found
    param = param_name(path)
    drf_code = getattr(detail, "code", None) or "invalid"
    code = _CODES.get(drf_code) or (
        drf_code if drf_code.startswith("parameter") else "parameter_invalid"
    )
    if code == "parameter_missing":
        message = f"Missing required param: {param}."
    elif code == "parameter_unknown":
        message = f"Received unknown parameter: {param}"
    elif param:
        message = f"Invalid {param}: {_lower_first(str(detail))}"
    else:
        message = str(detail)
    return InvalidRequest(message, param=param, code=code)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


def too_large_error() -> InvalidRequest:
    return InvalidRequest(
        "The request body is too large: at most "
        f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes are accepted.",
        code="request_too_large",
        http_status=413,
    )


def unavailable_error() -> ApiError:
    return ApiError(
        "The service is temporarily unavailable; please retry shortly.",
        code="service_unavailable",
        http_status=503,
    )


def to_tally_error(exc: Exception) -> TallyError | None:
    """Translate known exceptions into a TallyError, or None for a bug."""
    if isinstance(exc, TallyError):
        return exc
    if isinstance(exc, RequestDataTooBig):
        return too_large_error()
    if isinstance(exc, TooManyFieldsSent):
        return InvalidRequest(
            "The request has too many parameters.", code="invalid_body"
        )
    if isinstance(exc, OperationalError | InterfaceError):
        # The database is down or unreachable: retryable, as Stripe's 503.
        logger.warning("Database unavailable: %s", exc)
        return unavailable_error()
    if isinstance(exc, drf.ValidationError):
        return validation_error(exc)
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return AuthenticationFailed(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY')."
        )
    if isinstance(exc, drf.PermissionDenied | DjangoPermissionDenied):
        return PermissionDenied(
            "The provided key does not have access to this resource."
        )
    if isinstance(exc, drf.MethodNotAllowed):
        return InvalidRequest(
            str(exc.detail),
            code="method_not_allowed",
            http_status=405,
        )
    if isinstance(exc, drf.NotFound | Http404):
        return ResourceMissing(str(exc) or "Not found.")
    if isinstance(exc, drf.UnsupportedMediaType):
        return InvalidRequest(
            str(exc.detail), code="unsupported_media_type", http_status=415
        )
    if isinstance(exc, drf.ParseError):
        return InvalidRequest(
            f"Invalid request body: {exc.detail}", code="invalid_body"
        )
    if isinstance(exc, drf.Throttled):
        return TallyError(str(exc.detail), code="rate_limit", http_status=429)
    if isinstance(exc, drf.APIException):
        return TallyError(
            str(exc.detail), code=exc.default_code, http_status=exc.status_code
        )
    return None


def unexpected_error() -> ApiError:
    return ApiError("An unexpected error occurred on our side; it has been logged.")


def stripe_exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's exception handler: every error becomes Stripe's envelope."""
    error = to_tally_error(exc)
    if error is None:
        logger.exception("Unhandled API error", exc_info=exc)
        error = unexpected_error()
    return error_response(error)


# ---- Django's error views (config/urls.py handler400 ... handler500) --------------
# What fails outside a view (a middleware reading the body or the API key's row)
# reaches these; under /v1 and /v2 they answer in the envelope too.


def _api_path(request) -> bool:
    return request.path.startswith(("/v1/", "/v2/"))


def _handler_error(exception: BaseException | None, fallback: TallyError) -> TallyError:
    error = to_tally_error(exception) if isinstance(exception, Exception) else None
    return error or fallback


def bad_request(request, exception=None):
    """Answer a 400 (a body over the limit: 413) raised outside a view."""
    if not _api_path(request):
        return defaults.bad_request(request, exception)
    return plain_error_response(
        _handler_error(exception, InvalidRequest("Bad request.", code="invalid_body"))
    )


def permission_denied(request, exception=None):
    """Answer a 403 raised outside a view."""
    if not _api_path(request):
        return defaults.permission_denied(request, exception)
    return plain_error_response(
        PermissionDenied("The provided key does not have access to this resource.")
    )


def page_not_found(request, exception=None):
    """Answer a 404 raised outside a view."""
    if not _api_path(request):
        return defaults.page_not_found(request, exception)
    return plain_error_response(
        ResourceMissing(f"Unrecognized request URL ({request.method}: {request.path}).")
    )


def server_error(request):
    """Answer a crash outside a view (the database down: 503)."""
    if not _api_path(request):
        return defaults.server_error(request)
    # Django calls this inside its except block: the exception is still at hand.
    error = to_tally_error(sys.exc_info()[1]) if sys.exc_info()[1] else None
    if error is None:
        logger.error("Unhandled error on %s %s", request.method, request.path)
        error = unexpected_error()
    return plain_error_response(error)
