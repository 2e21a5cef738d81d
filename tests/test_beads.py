import pytest
from hypothesis import given
from hypothesis import strategies as st

from soroban_vision.beads import Beads, to_beads, to_digit, to_digits, to_number

digits = st.integers(min_value=0, max_value=9)


@given(digits)
def test_digit_round_trips_through_beads(d):
    b = to_beads(d)
    assert to_digit(b.heaven, b.earth) == d
    assert b.heaven in (0, 1) and 0 <= b.earth <= 4


@given(digits)
def test_heaven_is_worth_five(d):
    b = to_beads(d)
    assert b.heaven == (d >= 5)
    assert b.earth == d % 5


@given(st.integers(min_value=0, max_value=1), st.integers(min_value=0, max_value=4))
def test_every_bead_position_is_one_digit(h, e):
    assert to_beads(to_digit(h, e)) == Beads(h, e)


@given(st.integers(min_value=0, max_value=10**17 - 1))
def test_number_round_trips_through_rods(n):
    assert to_number(to_digits(n)) == n


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=13, max_value=17))
def test_leading_rods_show_zero(n, rods):
    row = to_digits(n, rods)
    assert len(row) == rods
    assert to_number(row) == n


def test_examples():
    assert to_beads(7) == Beads(heaven=1, earth=2)
    assert to_beads(0) == Beads(0, 0)
    assert to_digits(305, 5) == [0, 0, 3, 0, 5]
    assert to_number([0, 0, 3, 0, 5]) == 305


@pytest.mark.parametrize("bad", [-1, 10, 2.5, "3", True, None])
def test_bad_digits_are_refused(bad):
    with pytest.raises(ValueError):
        to_beads(bad)


@pytest.mark.parametrize("h,e", [(2, 0), (-1, 0), (0, 5), (1, -1)])
def test_bad_beads_are_refused(h, e):
    with pytest.raises(ValueError):
        to_digit(h, e)


def test_too_many_digits_for_the_rods():
    with pytest.raises(ValueError, match="needs 4 rods"):
        to_digits(1234, 3)
    with pytest.raises(ValueError):
        to_number([])
    with pytest.raises(ValueError):
        to_digits(-5)
