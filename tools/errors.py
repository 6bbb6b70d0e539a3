"""One error hierarchy for every tool; transports map `code` and `http_status` to their envelope."""

from __future__ import annotations

from typing import Any


class ToolError(Exception):
    """Something went wrong on our side."""

    code = "INTERNAL"
    http_status = 500

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or (self.__doc__ or self.code).strip()
        self.details = details
        super().__init__(self.message)

    def envelope(self, request_id: str) -> dict[str, Any]:
        return {
            "error": {
                "http_status": self.http_status,
                "code": self.code,
                "message": self.message,
                "details": self.details,
                "request_id": request_id,
            }
        }


class SchemaValidationFailed(ToolError):
    """The request does not match the schema; details.errors lists every problem."""

    code = "SCHEMA_VALIDATION_FAILED"
    http_status = 400


class AuthScopeDenied(ToolError):
    """Missing or invalid API key, or the key lacks the scope this call needs."""

    code = "AUTH_SCOPE_DENIED"
    http_status = 401


class EscrowRequired(ToolError):
    """No payment method on file: call POST /v1/billing/setup first."""

    code = "ESCROW_REQUIRED"
    http_status = 402


class PolicyBlocked(ToolError):
    """This action is not allowed now."""

    code = "POLICY_BLOCKED"
    http_status = 403


class NotFound(ToolError):
    """No such resource for this account."""

    code = "NOT_FOUND"
    http_status = 404


class ConflictIdempotency(ToolError):
    """This Idempotency-Key was already used with a different request."""

    code = "CONFLICT_IDEMPOTENCY"
    http_status = 409


class RateLimited(ToolError):
    """Too many requests: slow down and retry after the number of seconds in Retry-After."""

    code = "RATE_LIMITED"
    http_status = 429


ERROR_CLASSES: tuple[type[ToolError], ...] = (
    SchemaValidationFailed,
    AuthScopeDenied,
    EscrowRequired,
    PolicyBlocked,
    NotFound,
    ConflictIdempotency,
    RateLimited,
    ToolError,
)


def schema_error(pointer: str, message: str) -> dict[str, str]:
    """One entry of details.errors: the JSON pointer of the field and what is wrong with it."""
    return {"pointer": pointer, "message": message}
