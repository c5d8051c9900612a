"""One error hierarchy; each error carries the HTTP status it is rendered with."""

from __future__ import annotations

from typing import Any


class OutreachError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


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


class UnsupportedMediaType(OutreachError):
    status_code = 415
    code = "unsupported_media_type"
