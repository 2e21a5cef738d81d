"""Player, session and device ids as keyed hashes: HMAC-SHA256 under a secret that lives in the
database, so the same player hashes the same across requests (players can be kept apart between
training and held-out data) while a stored hash cannot be turned back into an id by guessing."""

from __future__ import annotations

import hashlib
import hmac

HASH_CHARS = 32  # 128 bits: ample to tell players apart


def hash_id(secret: bytes, kind: str, value: str | None) -> str | None:
    if value is None:
        return None
    mac = hmac.new(secret, f"{kind}\x00{value}".encode(), hashlib.sha256)
    return mac.hexdigest()[:HASH_CHARS]


def key_id(key: str) -> str:
    """A short, stable, non-secret name for an API key: what the rate limit and the rows record."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]
