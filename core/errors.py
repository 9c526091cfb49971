"""The one error hierarchy: each error knows its ``type``, ``code`` and HTTP status.

Services raise these; the API layer renders them as
``{"error": {"type", "code", "message", "param"}}``.
"""

from __future__ import annotations


class TallyError(Exception):
    """Base of every error the API reports to a client."""

    http_status = 400
    type = "invalid_request_error"
    default_code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code or self.default_code
        if http_status is not None:
            self.http_status = http_status

    def as_dict(self) -> dict:
        return {
            "type": self.type,
            "code": self.code,
            "message": self.message,
            "param": self.param,
        }


class InvalidRequest(TallyError):
    """A request that cannot be carried out as given (400)."""

    default_code = "parameter_invalid"


class ResourceMissing(TallyError):
    """The id names no object of that kind (404)."""

    http_status = 404
    default_code = "resource_missing"

    @classmethod
    def for_id(cls, object_name: str, object_id: str, *, param: str = "id"):
        label = object_name.rsplit(".", 1)[-1].replace("_", " ")
        return cls(f"No such {label}: '{object_id}'", param=param)


class InvalidState(TallyError):
    """The object exists but its state forbids the action (400)."""

    default_code = "resource_invalid_state"


class AuthenticationFailed(TallyError):
    """No API key or a wrong one (401)."""

    http_status = 401
    default_code = "api_key_invalid"


class PermissionDenied(TallyError):
    """The key may not do this (403)."""

    http_status = 403
    default_code = "permission_denied"


class PaymentRequired(TallyError):
    """The request was valid but could not be paid (402)."""

    http_status = 402
    type = "card_error"
    default_code = "payment_failed"


class IdempotencyError(TallyError):
    """An idempotency key reused with different parameters (400)."""

    type = "idempotency_error"
    default_code = "idempotency_key_reused"


class Conflict(TallyError):
    """A concurrent request holds what this one needs (409); safe to retry."""

    http_status = 409
    default_code = "lock_timeout"


class ApiError(TallyError):
    """An unexpected failure on our side (500)."""

    http_status = 500
    type = "api_error"
    default_code = "api_error"


class RateLimited(TallyError):
    """Too many requests with one key in the last second (429); retry after a pause.

    Stripe's shape: ``invalid_request_error`` with code ``rate_limit`` (the SDKs
    raise ``RateLimitError`` on the status).
    """

    http_status = 429
    default_code = "rate_limit"
