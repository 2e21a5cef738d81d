"""Errors a user can act on. The CLI prints their message as one line and exits with `exit_code`;
JSON output carries `code`, a stable id that the browser library's errors share."""

from __future__ import annotations


class SorobanError(Exception):
    """A failure the user can fix; the message is one line that says what and how."""

    exit_code = 1
    code = "error"

    def __init__(self, message: str = "", *, code: str | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code


class UsageError(SorobanError):
    """Bad input from the user: a missing or empty folder, a wrong flag, an unreadable model."""

    exit_code = 2
    code = "usage"


class DatasetError(UsageError):
    """A dataset that cannot be used: missing, empty, or a manifest that is unsafe."""

    code = "dataset"
