"""API keys. Writes need the write key, review needs the admin key; both travel as
`Authorization: Bearer KEY` and are compared in constant time."""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from soroban_vision.collect.provenance import key_id
from soroban_vision.collect.rejection import Rejected
from soroban_vision.errors import UsageError

WRITE_ENV, ADMIN_ENV = "SOROBAN_COLLECT_WRITE_KEY", "SOROBAN_COLLECT_ADMIN_KEY"
MIN_KEY_CHARS = 16


@dataclass(frozen=True)
class Keys:
    write: str
    admin: str | None

    @classmethod
    def resolve(cls, write: str | None, admin: str | None) -> Keys:
        """Keys from the options, else the environment; a missing or weak key is a UsageError."""
        write = write or os.environ.get(WRITE_ENV) or None
        admin = admin or os.environ.get(ADMIN_ENV) or None
        if write is None:
            raise UsageError(f"give a write key: --write-key KEY or {WRITE_ENV}", code="no_write_key")
        for name, key in (("write", write), ("admin", admin)):
            if key is not None and (len(key) < MIN_KEY_CHARS or not key.isprintable() or " " in key):
                raise UsageError(
                    f"the {name} key must be at least {MIN_KEY_CHARS} printable characters, no spaces",
                    code="weak_key",
                )
        if admin is not None and hmac.compare_digest(write.encode(), admin.encode()):
            raise UsageError("the admin key must differ from the write key", code="same_keys")
        return cls(write, admin)


def bearer(header: str | None) -> str:
    """The key in an `Authorization: Bearer KEY` header, or Rejected (401)."""
    challenge = {"WWW-Authenticate": 'Bearer realm="soroban-collect"'}
    if not header:
        raise Rejected(401, "no_key", "send the API key as 'Authorization: Bearer KEY'", challenge)
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Rejected(401, "no_key", "send the API key as 'Authorization: Bearer KEY'", challenge)
    return key.strip()


def check(header: str | None, keys: Keys, admin: bool) -> str:
    """The key's id when the header holds the right key for this endpoint, else Rejected."""
    key = bearer(header).encode()
    wanted = keys.admin if admin else keys.write
    if wanted is not None and hmac.compare_digest(key, wanted.encode()):
        return key_id(wanted)
    if admin and hmac.compare_digest(key, keys.write.encode()):
        raise Rejected(403, "not_admin", "this endpoint needs the admin key, not the write key")
    if admin and keys.admin is None:
        raise Rejected(403, "review_disabled", "review is off: start the server with --admin-key")
    raise Rejected(401, "wrong_key", "the API key is not valid for this endpoint")
