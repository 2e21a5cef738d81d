"""Errors a user can act on. The CLI prints their message as one line and exits with `code`."""

from __future__ import annotations


class SorobanError(Exception):
    """A failure the user can fix; the message is one line that says what and how."""

    code = 1


class UsageError(SorobanError):
    """Bad input from the user: a missing or empty folder, a wrong flag, an unreadable model."""

    code = 2


class DatasetError(UsageError):
    """A dataset that cannot be used: missing, empty, or a manifest that is unsafe."""
