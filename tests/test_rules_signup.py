"""Pure tests of the shape of sign-up answers (depanssur.rules.signup)."""

from hypothesis import given
from hypothesis import strategies as st

from depanssur.rules.signup import MAX_LENGTHS, ascii_int, check, clean_text, is_zip


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
