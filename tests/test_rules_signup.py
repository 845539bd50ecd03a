"""Pure tests of the shape of sign-up answers (depanssur.rules.signup)."""

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from depanssur.rules.signup import (
    MAX_LENGTHS,
    WITHDRAWAL_DAYS,
    ascii_int,
    check,
    clean_text,
    earliest_start,
    is_zip,
    withdrawal_deadline,
)


def test_ascii_int_accepts_only_ascii_digits():
    assert ascii_int("42") == 42
    assert ascii_int(" 7 ") == 7
    for odd in ("²", "٣", "4²", "-1", "0", "1.5", "", None, "1e3", "1" * 10, ["1"]):
        assert ascii_int(odd) is None, odd


def test_zip_is_five_ascii_digits():
    assert is_zip("69006")
    assert is_zip(" 69006 ")
    for odd in ("6900", "690066", "6900²", "69 06", "٦٩٠٠٦", "", None):
        assert not is_zip(odd), odd


def test_check_reports_each_field():
    values = {
        "first_name": "Élodie",
        "last_name": "x" * 101,
        "email": "a@b.fr",
        "street": "1 rue\x00 Ney",
        "zip": "6900²",
        "city": "",
    }
    errors = check(values, required={"first_name", "last_name", "city", "mobile"})
    assert errors == {
        "last_name": "too_long",
        "street": "invalid_chars",
        "zip": "zip",
        "city": "required",
        "mobile": "required",
    }


def test_check_accepts_a_complete_answer():
    values = {
        "civility": "mrs",
        "first_name": "Élodie",
        "last_name": "Garnier",
        "email": "elodie@example.fr",
        "mobile": "07 81 34 56 78",
        "street": "14 rue Garibaldi",
        "zip": "69006",
        "city": "Lyon",
    }
    assert check(values, required=set(values)) == {}


@given(st.dictionaries(st.sampled_from(sorted(MAX_LENGTHS)), st.text(max_size=300)))
def test_check_never_raises_and_knows_its_codes(values):
    errors = check(values, required=set(MAX_LENGTHS))
    assert set(errors.values()) <= {"required", "too_long", "invalid_chars", "zip"}
    for name, value in values.items():
        if name not in errors:
            assert len(clean_text(value)) <= MAX_LENGTHS[name]


def test_withdrawal_period_is_fourteen_days_after_the_conclusion():
    assert withdrawal_deadline(date(2026, 3, 2)) == date(2026, 3, 16)
    # across a month and a year end
    assert withdrawal_deadline(date(2026, 12, 25)) == date(2027, 1, 8)
    assert withdrawal_deadline(date(2028, 2, 20)) == date(2028, 3, 5)  # leap year


def test_without_express_request_nothing_starts_before_day_15():
    concluded = date(2026, 3, 2)
    assert earliest_start(concluded, express_request=True) == concluded
    assert earliest_start(concluded, express_request=False) == date(2026, 3, 17)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.booleans())
def test_start_never_inside_the_withdrawal_period_without_a_request(concluded, express):
    start = earliest_start(concluded, express)
    assert start >= concluded
    if express:
        assert start == concluded
    else:
        assert start > withdrawal_deadline(concluded)
        assert (start - concluded).days == WITHDRAWAL_DAYS + 1
