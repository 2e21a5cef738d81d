"""Every refusal of the collection service: a stable `code`, an HTTP status and one line that says
what to fix. The app turns each into `{"error": {"code", "message"}}`."""

from __future__ import annotations

from soroban_vision.errors import SorobanError


class Rejected(SorobanError):
    """A request the service refuses; `status` is the HTTP status (4xx), `code` the stable id."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message, code=code)
        self.status = status
        self.headers = headers or {}


def bad_field(field: str, what: str, code: str = "bad_field") -> Rejected:
    """A field of the JSON body that is missing or of the wrong kind (422)."""
    return Rejected(422, code, f"{field}: {what}")
