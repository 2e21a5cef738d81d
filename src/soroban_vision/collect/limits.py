"""The service's limits, in one place: what a request may weigh and hold. Defaults suit a classroom
of tablets posting a soroban's crops after each right answer."""

from __future__ import annotations

from dataclasses import dataclass

from soroban_vision.abacus.spec import MAX_COLUMNS


@dataclass(frozen=True)
class Limits:
    crops_body_bytes: int = 512 * 1024  # 17 base64 PNG crops of 64x128 take under 300 KB
    frame_body_bytes: int = 8 * 1024 * 1024
    crop_png_bytes: int = 64 * 1024  # a 64x128 8-bit PNG is at most about 9 KB; RGBA about 33 KB
    frame_megapixels: float = 16.0  # read from the header, before decoding
    max_columns: int = MAX_COLUMNS
    id_chars: int = 200  # player, session and device ids: only their keyed hash is kept
    version_chars: int = 100
    rate_per_s: float = 20.0  # requests per second per key, sustained (0: no limit)
    burst: int = 200  # requests a key may send at once before the sustained rate applies
