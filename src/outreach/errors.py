"""One error hierarchy; each error carries the HTTP status it is rendered with.

Every error the API answers has one shape, ``{"error": {"code", "message", "details"}}``:
ours, validation errors, unknown routes and methods, and the unexpected (a 500 that says
it was logged and nothing else).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["no campaign 7"])
    details: Any = Field(default=None, description="Per-field problems, or what is allowed.")


class ErrorBody(BaseModel):
    """The shape of every error answer."""

    error: ErrorDetail


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


class OutreachError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


class NotFound(OutreachError):
    status_code = 404
    code = "not_found"


class Conflict(OutreachError):
    status_code = 409
    code = "conflict"


class InvalidInput(OutreachError):
    status_code = 422
    code = "invalid_input"


class Unauthorized(OutreachError):
    status_code = 401
    code = "unauthorized"


class Forbidden(OutreachError):
    status_code = 403
    code = "forbidden"


class TooLarge(OutreachError):
    status_code = 413
    code = "too_large"


class UnsupportedMediaType(OutreachError):
    status_code = 415
    code = "unsupported_media_type"


class TooManyRequests(OutreachError):
    status_code = 429
    code = "too_many_requests"
