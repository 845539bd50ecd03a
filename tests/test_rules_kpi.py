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
