"""Pure tests of the risk-address change cut-off (depanssur.rules.address)."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from depanssur.rules.address import (
    ADDRESS_FIELD_MAX,
    DEFAULT_CUTOFF_DAYS,
    check_home_address,
    effective_date,
)
from depanssur.rules.periods import period_bounds

JAN_1 = date(2026, 1, 1)


def test_monthly_examples_with_the_default_cutoff():
    assert DEFAULT_CUTOFF_DAYS == 10
    assert effective_date(date(2026, 3, 5), JAN_1, "monthly") == date(2026, 4, 1)
    # exactly 10 days before 1 April: still in time
    assert effective_date(date(2026, 3, 22), JAN_1, "monthly") == date(2026, 4, 1)
    # 9 days before: one period later
    assert effective_date(date(2026, 3, 23), JAN_1, "monthly") == date(2026, 5, 1)
    assert effective_date(date(2026, 3, 31), JAN_1, "monthly") == date(2026, 5, 1)
    # a request on a period start waits for the next one
    assert effective_date(date(2026, 4, 1), JAN_1, "monthly") == date(2026, 5, 1)


def test_the_cutoff_is_a_setting():
    assert effective_date(date(2026, 3, 31), JAN_1, "monthly", 0) == date(2026, 4, 1)
    assert effective_date(date(2026, 3, 20), JAN_1, "monthly", 15) == date(2026, 5, 1)
    assert effective_date(date(2026, 3, 17), JAN_1, "monthly", 15) == date(2026, 4, 1)
    # a cut-off longer than a month waits as many periods as needed
    assert effective_date(date(2026, 3, 5), JAN_1, "monthly", 45) == date(2026, 5, 1)
    with pytest.raises(ValueError):
        effective_date(date(2026, 3, 5), JAN_1, "monthly", -1)


def test_month_end_and_yearly_anchors():
    anchor = date(2026, 1, 31)
    # next period start 28 February is 8 days away: the change waits until 31 March
    assert effective_date(date(2026, 2, 20), anchor, "monthly") == date(2026, 3, 31)
    assert effective_date(date(2026, 2, 18), anchor, "monthly") == date(2026, 2, 28)
    yearly = date(2026, 1, 15)
    assert effective_date(date(2026, 12, 1), yearly, "yearly") == date(2027, 1, 15)
    assert effective_date(date(2027, 1, 10), yearly, "yearly") == date(2028, 1, 15)


def test_request_before_the_subscription_starts():
    start = date(2026, 5, 1)
    assert effective_date(date(2026, 4, 10), start, "monthly") == start
    assert effective_date(date(2026, 4, 25), start, "monthly") == date(2026, 6, 1)


days = st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31))
periods = st.sampled_from(["monthly", "yearly"])


@given(request=days, anchor=days, period=periods, cutoff=st.integers(0, 120))
def test_effective_date_is_the_first_period_start_after_the_cutoff(request, anchor, period, cutoff):
    effective = effective_date(request, anchor, period, cutoff)
    # a period start ...
    assert effective >= anchor
    assert period_bounds(anchor, period, effective)[0] == effective
    # ... at least cutoff days after the request, and strictly after it ...
    assert effective >= request + timedelta(days=cutoff)
    assert effective > request
    # ... and the earliest such one: the previous period start was too early
    if effective > anchor:
        previous = period_bounds(anchor, period, effective - timedelta(days=1))[0]
        assert previous <= request or previous < request + timedelta(days=cutoff)


# --- a home address typed by a client (portal address change) ---


def test_a_complete_french_address_is_cleaned():
    clean, errors = check_home_address("  1  quai Saint-Antoine ", " 69002 ", " Lyon ")
    assert errors == {}
    assert clean == {"street": "1 quai Saint-Antoine", "zip": "69002", "city": "Lyon"}


@pytest.mark.parametrize(
    "zip_code",
    [
        "²²²²²",  # superscripts: str.isdigit() is true, int() fails
        "69²02",
        "٦٩٠٠٢",  # Arabic-Indic digits: \d and int() accept them
        "６９００２",  # fullwidth digits
        "6900",
        "690021",
        "00123",
        "ABCDE",
        "69 002",
        "69002\x00",
    ],
)
def test_a_french_postcode_is_five_ascii_digits(zip_code):
    assert check_home_address("1 rue Ney", zip_code, "Lyon")[1] == {"zip": "invalid"}


def test_missing_too_long_and_control_characters():
    assert check_home_address("", "", " ")[1] == {
        "street": "missing",
        "zip": "missing",
        "city": "missing",
    }
    long = "x" * (ADDRESS_FIELD_MAX + 1)
    assert check_home_address(long, "69002", "Lyon")[1] == {"street": "too_long"}
    assert check_home_address("1 rue\x00Ney", "69002", "Ly\x7fon")[1] == {
        "street": "invalid",
        "city": "invalid",
    }


def test_other_countries_have_no_postcode_pattern():
    assert check_home_address("Rue Neuve 1", "1000", "Bruxelles", "BE")[1] == {}


@given(st.text(max_size=8))
def test_any_postcode_text_is_judged_without_error(zip_code):
    errors = check_home_address("1 rue Ney", zip_code, "Lyon")[1]
    ascii_five = len(zip_code.strip()) == 5 and all(c in "0123456789" for c in zip_code.strip())
    assert ("zip" not in errors) == (ascii_five and not zip_code.strip().startswith("00"))
