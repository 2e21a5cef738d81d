"""The bead rule: the one home of digit <-> (heaven, earth) and of digits <-> number.

A soroban rod shows one digit. The heaven bead is worth 5 when pushed down to the
reckoning bar; each of the four earth beads is worth 1 when pushed up to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

EARTH_BEADS = 4
HEAVEN_VALUE = 5


class Beads(NamedTuple):
    heaven: int  # 1 when the heaven bead touches the bar
    earth: int  # how many earth beads touch the bar, 0-4


def to_beads(digit: int) -> Beads:
    """Split a digit 0-9 into its bead positions."""
    if not isinstance(digit, int) or isinstance(digit, bool) or not 0 <= digit <= 9:
        raise ValueError(f"a soroban digit is an integer 0-9, got {digit!r}")
    return Beads(heaven=int(digit >= HEAVEN_VALUE), earth=digit % HEAVEN_VALUE)


def to_digit(heaven: int, earth: int) -> int:
    """Join bead positions into a digit: 5*heaven + earth."""
    if heaven not in (0, 1):
        raise ValueError(f"heaven is 0 or 1, got {heaven!r}")
    if earth not in range(EARTH_BEADS + 1):
        raise ValueError(f"earth is 0-{EARTH_BEADS}, got {earth!r}")
    return HEAVEN_VALUE * int(heaven) + int(earth)


def to_number(digits: Sequence[int]) -> int:
    """Read a row of rods, most significant first, as one number."""
    if len(digits) == 0:
        raise ValueError("a number needs at least one rod")
    number = 0
    for d in digits:
        to_beads(d)  # validates
        number = number * 10 + d
    return number


def to_digits(number: int, columns: int | None = None) -> list[int]:
    """Spell a number on `columns` rods (leading rods show 0), most significant first."""
    if not isinstance(number, int) or number < 0:
        raise ValueError(f"a soroban shows a non-negative integer, got {number!r}")
    digits = [int(c) for c in str(number)]
    if columns is None:
        return digits
    if len(digits) > columns:
        raise ValueError(f"{number} needs {len(digits)} rods, the soroban has {columns}")
    return [0] * (columns - len(digits)) + digits
