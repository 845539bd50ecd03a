"""Pure tests of the upgrade prorata and billing periods (depanssur.rules.proration)."""

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from depanssur.rules.proration import (
    add_months,
    next_period_start,
    period_bounds,
    prorate,
    remaining_prorata,
)

D = Decimal
ESSENTIEL, CONFORT, PREMIUM, ELECTROMENAGER = D("9.90"), D("14.90"), D("19.90"), D("4.90")
JAN_1 = date(2026, 1, 1)


# ----------------------------------------------------------------------------------------------
# Prorata examples
# ----------------------------------------------------------------------------------------------


def test_upgrade_essentiel_to_confort_mid_april():
    # monthly from 1 January; upgrade on 16 April: 15 days of 30, the 16th included
    assert remaining_prorata(CONFORT - ESSENTIEL, JAN_1, "monthly", date(2026, 4, 16)) == D("2.50")
    assert remaining_prorata(CONFORT - ESSENTIEL, JAN_1, "monthly", date(2026, 4, 1)) == D("5.00")
    assert remaining_prorata(CONFORT - ESSENTIEL, JAN_1, "monthly", date(2026, 4, 30)) == D("0.17")


def test_upgrade_in_february_and_option_in_march():
    # Essentiel -> Premium on 10 February 2026 (28 days): 10.00 - round(10.00 * 9 / 28)
    assert remaining_prorata(PREMIUM - ESSENTIEL, JAN_1, "monthly", date(2026, 2, 10)) == D("6.79")
    # Électroménager added on 20 March: 12 days of 31 -> 4.90 - round(4.90 * 19 / 31)
    assert remaining_prorata(ELECTROMENAGER, JAN_1, "monthly", date(2026, 3, 20)) == D("1.90")


def test_yearly_billing_upgrade():
    # yearly from 15 January 2026 (365 days), Essentiel -> Confort: 12 x 5.00 = 60.00 a year;
    # upgrade on 15 July 2026 = 181 days gone, 184 left
    amount = remaining_prorata(D("60.00"), date(2026, 1, 15), "yearly", date(2026, 7, 15))
    assert amount == D("60.00") - D("29.75")
    assert amount == D("30.25")


def test_half_up_to_the_cent():
    # 1.00 over 8 days: one day is 0.125 -> 0.13 (half-up), the other seven 0.87
    first, last = date(2026, 4, 1), date(2026, 4, 8)
    assert prorate(D("1.00"), first, last, first, first) == D("0.13")
    assert prorate(D("1.00"), first, last, date(2026, 4, 2), last) == D("0.87")
    # a downgrade credit: half away from zero, and the parts still add up
    assert prorate(D("-1.00"), first, last, first, first) == D("-0.13")
    assert prorate(D("-1.00"), first, last, date(2026, 4, 2), last) == D("-0.87")


def test_three_equal_parts_add_up():
    # 10.00 over 30 days split in three 10-day parts: 3.33 + 3.34 + 3.33
    start, end = date(2026, 4, 1), date(2026, 4, 30)
    parts = [
        prorate(D("10.00"), start, end, date(2026, 4, 1), date(2026, 4, 10)),
        prorate(D("10.00"), start, end, date(2026, 4, 11), date(2026, 4, 20)),
        prorate(D("10.00"), start, end, date(2026, 4, 21), date(2026, 4, 30)),
    ]
    assert parts == [D("3.33"), D("3.34"), D("3.33")]
    assert sum(parts) == D("10.00")


def test_floats_empty_parts_and_errors():
    start, end = date(2026, 4, 1), date(2026, 4, 30)
    assert prorate(5.0, start, end, date(2026, 4, 16), end) == D("2.50")
    assert prorate(0.1, start, end, start, end) == D("0.10")
    assert prorate(D("5"), start, end, date(2026, 4, 16), date(2026, 4, 15)) == D("0.00")
    with pytest.raises(ValueError):
        prorate(10, start, end, date(2026, 3, 31), end)  # starts before the period
    with pytest.raises(ValueError):
        prorate(10, start, end, start, date(2026, 5, 1))  # ends after it
    with pytest.raises(ValueError):
        prorate(10, start, end, date(2026, 4, 20), date(2026, 4, 10))
    with pytest.raises(ValueError):
        prorate(10, end, start, end, end)


# ----------------------------------------------------------------------------------------------
# Billing periods
# ----------------------------------------------------------------------------------------------


def test_month_end_anchor():
    anchor = date(2026, 1, 31)
    assert period_bounds(anchor, "monthly", date(2026, 2, 15)) == (
        date(2026, 1, 31),
        date(2026, 2, 27),
    )
    assert period_bounds(anchor, "monthly", date(2026, 2, 28)) == (
        date(2026, 2, 28),
        date(2026, 3, 30),
    )
    assert next_period_start(anchor, "monthly", date(2026, 3, 30)) == date(2026, 3, 31)
    assert next_period_start(anchor, "monthly", date(2026, 3, 31)) == date(2026, 4, 30)
    assert next_period_start(date(2028, 1, 30), "monthly", date(2028, 2, 1)) == date(2028, 2, 29)


def test_leap_day_yearly_anchor():
    anchor = date(2028, 2, 29)
    assert period_bounds(anchor, "yearly", date(2028, 12, 31)) == (
        date(2028, 2, 29),
        date(2029, 2, 27),
    )
    assert next_period_start(anchor, "yearly", date(2029, 2, 28)) == date(2030, 2, 28)
    assert next_period_start(anchor, "yearly", date(2031, 3, 1)) == date(2032, 2, 29)


def test_period_helpers_edges():
    # a day before the anchor belongs to the first period
    assert period_bounds(date(2026, 5, 10), "monthly", date(2026, 1, 1)) == (
        date(2026, 5, 10),
        date(2026, 6, 9),
    )
    assert next_period_start(JAN_1, "monthly", JAN_1) == date(2026, 2, 1)
    assert next_period_start(JAN_1, "yearly", date(2026, 12, 31)) == date(2027, 1, 1)
    with pytest.raises(ValueError):
        next_period_start(JAN_1, "weekly", JAN_1)


# ----------------------------------------------------------------------------------------------
# Properties
# ----------------------------------------------------------------------------------------------

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31))
periods = st.sampled_from(["monthly", "yearly"])
amounts = st.decimals(min_value=D("-1000"), max_value=D("1000"), places=2)


@given(
    total=amounts,
    start=days,
    length=st.integers(min_value=1, max_value=400),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
)
def test_prorated_parts_sum_exactly(total, start, length, cuts):
    end = start + timedelta(days=length - 1)
    points = sorted({c % length for c in cuts} | {0, length})
    pairs = list(itertools.pairwise(points))
    parts = [
        prorate(total, start, end, start + timedelta(days=a), start + timedelta(days=b - 1))
        for a, b in pairs
    ]
    assert sum(parts) == total
    for part, (a, b) in zip(parts, pairs, strict=True):
        exact = total * (b - a) / length
        assert abs(part - exact) < D("0.01")
        assert part == part.quantize(D("0.01"))
        assert part * total >= 0  # same sign as the total (or zero)


@given(total=amounts, anchor=days, period=periods, day=days)
def test_upgrade_prorata_plus_used_days_is_the_difference(total, anchor, period, day):
    assume(day >= anchor)
    start, end = period_bounds(anchor, period, day)
    rest = remaining_prorata(total, anchor, period, day)
    used = prorate(total, start, end, start, day - timedelta(days=1))
    assert used + rest == total
    assert abs(rest) <= abs(total)
    assert remaining_prorata(total, anchor, period, start) == total


@given(anchor=days, period=periods, day=days)
def test_periods_tile_the_calendar(anchor, period, day):
    start, end = period_bounds(anchor, period, day)
    if day >= anchor:
        assert start <= day <= end
    following = next_period_start(anchor, period, day)
    assert following == end + timedelta(days=1)
    assert period_bounds(anchor, period, following)[0] == following
    # period starts keep the anchor's day of month, clamped to shorter months
    months = 1 if period == "monthly" else 12
    assert following.day == min(anchor.day, add_months(following, 0, 31).day)
    assert (following.year - start.year) * 12 + following.month - start.month == months
