from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from depanssur.rules import kpi


def test_mrr_movements_example():
    opening = {1: D("9.90"), 2: D("14.90"), 3: D("19.90"), 4: D("14.90")}
    closing = {1: D("9.90"), 2: D("19.80"), 3: D("14.90"), 5: D("9.90"), 6: D("9.90")}
    moves = kpi.mrr_movements(opening, closing, started_in_period={5})
    assert moves.opening == D("59.60")
    assert moves.closing == D("64.40")
    assert (moves.new, moves.reactivation) == (D("9.90"), D("9.90"))
    assert (moves.expansion, moves.contraction, moves.churn) == (D("4.90"), D("-5.00"), D("-14.90"))
    assert moves.opening + moves.net == moves.closing


money = st.decimals(min_value=D("0"), max_value=D("100"), places=2)


@given(
    opening=st.dictionaries(st.integers(0, 50), money, max_size=40),
    closing=st.dictionaries(st.integers(0, 50), money, max_size=40),
    started=st.frozensets(st.integers(0, 50)),
)
def test_movements_reconcile_exactly(opening, closing, started):
    moves = kpi.mrr_movements(opening, closing, started)
    assert moves.opening + moves.net == moves.closing
    assert moves.churn <= 0 and moves.contraction <= 0
    assert moves.new >= 0 and moves.expansion >= 0 and moves.reactivation >= 0


def test_rates_and_empty_periods():
    assert kpi.logo_churn_rate(3, 200) == D("1.50")
    assert kpi.logo_churn_rate(0, 0) is None
    assert kpi.revenue_churn_rate(D("-14.90"), D("-5.00"), D("59.60")) == D("33.39")
    assert kpi.revenue_churn_rate(1, 1, 0) is None
    assert kpi.loss_ratio(D("450"), D("1500")) == D("30.00")
    assert kpi.loss_ratio(D("450"), D("0")) is None
    assert kpi.dso(D("1000"), D("3000"), 30) == D("10.0")
    assert kpi.dso(D("1000"), 0, 30) is None


def test_nps():
    result = kpi.nps([10, 9, 8, 7, 6, 0, 10])
    assert (result.promoters, result.passives, result.detractors, result.count) == (3, 2, 2, 7)
    assert result.score == D("14.3")
    assert kpi.nps([]).score is None
    with pytest.raises(ValueError):
        kpi.nps([11])


@pytest.mark.parametrize(
    ("days", "bucket"), [(0, "0-30"), (30, "0-30"), (31, "31-60"), (61, "61-90"), (91, "90+")]
)
def test_ageing(days, bucket):
    assert kpi.ageing_bucket(days) == bucket


@pytest.mark.parametrize(
    ("before", "after", "started", "kind"),
    [
        ("0", "9.90", True, "new"),
        ("0", "9.90", False, "reactivation"),
        ("9.90", "0", False, "churn"),
        ("9.90", "14.90", False, "expansion"),
        ("14.90", "9.90", False, "contraction"),
        ("9.90", "9.90", False, None),
    ],
)
def test_movement_kind(before, after, started, kind):
    assert kpi.movement_kind(D(before), D(after), started) == kind


def test_ageing_due_dates_agree_with_buckets():
    day = date(2026, 3, 31)
    bounds = kpi.ageing_due_dates(day)
    for overdue in range(-10, 200):
        due = day - timedelta(days=overdue)
        inside = [
            bucket
            for bucket, (first, last) in bounds.items()
            if (first is None or due >= first) and (last is None or due <= last)
        ]
        assert inside == [kpi.ageing_bucket(overdue)], overdue


def test_month_periods():
    periods = kpi.month_periods(date(2026, 3, 17), 3)
    assert periods == [
        (date(2026, 1, 1), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 17)),
    ]
    assert len(kpi.month_periods(date(2026, 3, 17), 12)) == 12
    assert kpi.month_periods(date(2026, 3, 17), 12)[0][0] == date(2025, 4, 1)
    with pytest.raises(ValueError):
        kpi.month_periods(date(2026, 3, 17), 0)


def test_ratios_by_key():
    assert kpi.ratios_by_key({"E": 120}, {"E": 250, "C": 100}) == {
        "E": D("48.00"),
        "C": D("0.00"),
    }
    assert kpi.ratios_by_key({"X": 50}, {}) == {"X": None}


def test_funnel():
    rows = kpi.funnel([("Reminder", 5), ("Formal notice", 3), ("Suspension", 2)])
    assert rows == [
        ("Reminder", 5, 10, D("100.00")),
        ("Formal notice", 3, 5, D("50.00")),
        ("Suspension", 2, 2, D("20.00")),
    ]
    assert kpi.funnel([]) == []
    assert kpi.funnel([("Reminder", 0)]) == [("Reminder", 0, 0, None)]


@pytest.mark.parametrize("months", [1, 12, kpi.MAX_WINDOW_MONTHS])
def test_window_months_accepts_whole_months(months):
    assert kpi.window_months(months) == months


@pytest.mark.parametrize(
    "months", ["x", "12", 12.0, None, True, [12], 0, -1, kpi.MAX_WINDOW_MONTHS + 1, 10**30]
)
def test_window_months_refuses_anything_else(months):
    with pytest.raises(ValueError):
        kpi.window_months(months)
