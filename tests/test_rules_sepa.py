from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from depanssur.rules import sepa


def test_debit_date_after_prenotification():
    assert sepa.debit_date(date(2026, 3, 1), date(2026, 3, 1), 5) == date(2026, 3, 6)
    # invoiced late (a missed run): counted from the notice, not from the invoice date
    assert sepa.debit_date(date(2026, 3, 1), date(2026, 3, 4), 5) == date(2026, 3, 9)
    with pytest.raises(ValueError):
        sepa.debit_date(date(2026, 3, 1), date(2026, 3, 1), -1)


@given(st.dates(), st.dates(), st.integers(0, 30))
def test_debit_never_before_notice_plus_days(invoice_day, today, days):
    result = sepa.debit_date(invoice_day, today, days)
    assert (result - today).days >= days
    assert result >= invoice_day


def test_presentation_window():
    today = date(2026, 3, 5)
    assert sepa.to_present(date(2026, 3, 6), today)
    assert not sepa.to_present(date(2026, 3, 7), today)
    assert sepa.collection_date(date(2026, 3, 6), today) == date(2026, 3, 6)
    # a re-presentation after a return is collected on the next possible day
    assert sepa.collection_date(date(2026, 3, 1), today) == date(2026, 3, 6)


def test_reasons():
    assert sepa.reason("AM04").mandate_unusable is False
    assert sepa.reason("AC04").mandate_unusable is True
    assert sepa.reason("MD01").mandate_unusable is True
    with pytest.raises(ValueError):
        sepa.reason("XX99")


def test_mask_iban():
    assert sepa.mask_iban("FR76 3000 6000 0112 3456 7890 189") == (
        "FR** **** **** **** **** **** 189"
    )
    assert sepa.mask_iban("") == ""
    assert sepa.mask_iban("FR7") == "***"


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=8, max_size=34))
def test_mask_hides_the_middle(iban):
    masked = sepa.mask_iban(iban).replace(" ", "")
    assert len(masked) == len(iban)
    assert masked[:2] == iban[:2] and masked[-3:] == iban[-3:]
    assert set(masked[2:-3]) <= {"*"}


def test_reject_rate():
    assert sepa.reject_rate(0, 0) == 0.0
    assert sepa.reject_rate(3, 200) == 1.5
    with pytest.raises(ValueError):
        sepa.reject_rate(-1, 2)
