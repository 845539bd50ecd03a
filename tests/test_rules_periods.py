from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from depanssur.rules import address, proration
from depanssur.rules.periods import add_months, coverage_year_bounds, period_bounds

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
periods = st.sampled_from(["monthly", "yearly"])


def test_add_months_clamps_month_end():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 1, 31), 2) == date(2026, 3, 31)
    assert add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)


def test_period_bounds_examples():
    assert period_bounds(date(2026, 1, 15), "monthly", date(2026, 3, 20)) == (
        date(2026, 3, 15),
        date(2026, 4, 14),
    )
    assert period_bounds(date(2026, 1, 31), "monthly", date(2026, 3, 5)) == (
        date(2026, 2, 28),
        date(2026, 3, 30),
    )
    assert period_bounds(date(2026, 1, 15), "yearly", date(2027, 1, 14)) == (
        date(2026, 1, 15),
        date(2027, 1, 14),
    )
    with pytest.raises(ValueError):
        period_bounds(date(2026, 1, 1), "weekly", date(2026, 1, 1))


@given(anchor=days, day=days, period=periods)
def test_period_contains_day_and_periods_chain(anchor, day, period):
    start, end = period_bounds(anchor, period, day)
    if day >= anchor:
        assert start <= day <= end
    assert start >= anchor
    # the next period starts the day after this one ends
    next_start, _next_end = period_bounds(anchor, period, end + timedelta(days=1))
    assert next_start == end + timedelta(days=1)


def test_coverage_year_bounds():
    assert coverage_year_bounds(date(2026, 1, 15), None, date(2026, 6, 1)) == (
        date(2026, 1, 15),
        date(2027, 1, 14),
    )
    assert coverage_year_bounds(date(2026, 1, 15), date(2026, 1, 15), date(2027, 3, 1)) == (
        date(2027, 1, 15),
        date(2028, 1, 14),
    )
    # an anniversary later than the start: a short first year
    assert coverage_year_bounds(date(2026, 3, 10), date(2026, 9, 1), date(2026, 5, 1)) == (
        date(2026, 3, 10),
        date(2026, 8, 31),
    )


def test_prorate_example():
    # (14.90 - 9.90) for April, upgrade on the 16th: 15 days out of 30
    amount = proration.prorate(
        Decimal("5.00"), date(2026, 4, 1), date(2026, 4, 30), date(2026, 4, 16), date(2026, 4, 30)
    )
    assert amount == Decimal("2.50")
    with pytest.raises(ValueError):
        proration.prorate(
            10, date(2026, 4, 1), date(2026, 4, 30), date(2026, 3, 1), date(2026, 4, 2)
        )


@given(
    total=st.decimals(min_value=Decimal("-500"), max_value=Decimal("500"), places=2),
    anchor=days,
    period=periods,
    cuts=st.lists(st.integers(min_value=1, max_value=365), max_size=8),
)
def test_prorated_parts_sum_exactly(total, anchor, period, cuts):
    start, end = period_bounds(anchor, period, anchor)
    length = (end - start).days + 1
    points = sorted({c % length for c in cuts} | {0})
    parts = []
    for index, offset in enumerate(points):
        part_start = start + timedelta(days=offset)
        part_end = start + timedelta(days=points[index + 1] - 1) if index + 1 < len(points) else end
        parts.append(proration.prorate(total, start, end, part_start, part_end))
    assert sum(parts) == total
    assert all(abs(p) <= abs(total) for p in parts)


def test_address_effective_date_examples():
    anchor = date(2026, 1, 1)
    assert address.effective_date(date(2026, 3, 5), anchor, "monthly", 10) == date(2026, 4, 1)
    assert address.effective_date(date(2026, 3, 22), anchor, "monthly", 10) == date(2026, 4, 1)
    assert address.effective_date(date(2026, 3, 23), anchor, "monthly", 10) == date(2026, 5, 1)
    with pytest.raises(ValueError):
        address.effective_date(date(2026, 3, 5), anchor, "monthly", -1)


@given(request=days, anchor=days, period=periods, cutoff=st.integers(0, 40))
def test_address_effective_is_period_start_after_cutoff(request, anchor, period, cutoff):
    effective = address.effective_date(request, anchor, period, cutoff)
    assert (effective - request).days >= cutoff
    assert effective > request
    start, _end = period_bounds(anchor, period, effective)
    assert start == effective or effective <= anchor
