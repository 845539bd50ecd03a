from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from depanssur.rules import coverage, workflow
from depanssur.rules.coverage import Contract, CoverageTerms, Incident, Usage, decide

D = Decimal
START = date(2026, 1, 1)
ESSENTIEL = CoverageTerms(
    source="plan",
    categories=frozenset({"plumbing", "electricity"}),
    start=START,
    carence_days=30,
    franchise=D("0"),
    cap_per_intervention=D("300"),
    yearly_cap_amount=D("600"),
    yearly_cap_count=2,
)
APPLIANCES = CoverageTerms(
    source="option:1",
    categories=frozenset({"appliances"}),
    start=START,
    carence_days=60,
    franchise=D("30"),
    cap_per_intervention=D("250"),
    yearly_cap_amount=D("500"),
    yearly_cap_count=2,
)
CONTRACT = Contract(start=START, addresses=(("home", START, None),))


def incident(day=date(2026, 3, 1), category="plumbing", cost="200", where="home"):
    return Incident(day=day, category=category, address=where, cost=D(cost))


def test_reasons_in_order():
    terms = [ESSENTIEL, APPLIANCES]
    assert decide(CONTRACT, terms, {}, incident(day=date(2025, 12, 1))).reason == "not_started"
    ended = Contract(start=START, termination_date=date(2026, 2, 28))
    assert decide(ended, terms, {}, incident()).reason == "terminated"
    suspended = Contract(start=START, suspensions=((date(2026, 2, 20), None),))
    assert decide(suspended, terms, {}, incident()).reason == "suspended"
    assert decide(CONTRACT, terms, {}, incident(where="other")).reason == "address"
    assert decide(CONTRACT, terms, {}, incident(category="locksmith")).reason == "category"
    assert decide(CONTRACT, terms, {}, incident(day=date(2026, 1, 30))).reason == "carence"
    assert decide(CONTRACT, terms, {}, incident(day=date(2026, 1, 31))).status == "covered"
    full = {"plan": Usage(2, D("400"))}
    assert decide(CONTRACT, terms, full, incident()).reason == "count_cap"
    spent = {"plan": Usage(1, D("600"))}
    assert decide(CONTRACT, terms, spent, incident()).reason == "amount_cap"


def test_amounts():
    decision = decide(CONTRACT, [ESSENTIEL], {}, incident(cost="450"))
    assert (decision.status, decision.reason) == ("partial", "intervention_cap")
    assert (decision.covered_amount, decision.client_share) == (D("300.00"), D("150.00"))
    decision = decide(CONTRACT, [ESSENTIEL], {"plan": Usage(1, D("500"))}, incident(cost="250"))
    assert (decision.reason, decision.covered_amount) == ("yearly_cap", D("100.00"))
    decision = decide(CONTRACT, [APPLIANCES], {}, incident(date(2026, 3, 5), "appliances", "100"))
    assert (decision.reason, decision.covered_amount, decision.franchise) == (
        "franchise",
        D("70.00"),
        D("30.00"),
    )
    decision = decide(CONTRACT, [APPLIANCES], {}, incident(date(2026, 3, 5), "appliances", "20"))
    assert (decision.status, decision.reason, decision.client_share) == (
        "not_covered",
        "franchise",
        D("20.00"),
    )
    with pytest.raises(ValueError):
        decide(CONTRACT, [ESSENTIEL], {}, incident(cost="-1"))


def test_counters():
    used = coverage.consume(Usage(), D("120.50"))
    assert used == Usage(1, D("120.50"))
    assert coverage.give_back(used, D("200")) == Usage(0, D("0.00"))
    with pytest.raises(ValueError):
        Usage(-1, D("0"))


money = st.decimals(min_value=D("0"), max_value=D("5000"), places=2)


@given(
    cost=money,
    franchise=money,
    cap=money,
    yearly=money,
    used_amount=money,
    used_count=st.integers(0, 5),
    count_cap=st.integers(0, 5),
)
def test_covered_amount_never_exceeds_any_cap(
    cost, franchise, cap, yearly, used_amount, used_count, count_cap
):
    terms = CoverageTerms(
        source="plan",
        categories=frozenset({"plumbing"}),
        start=START,
        franchise=franchise,
        cap_per_intervention=cap,
        yearly_cap_amount=yearly,
        yearly_cap_count=count_cap,
    )
    decision = decide(
        Contract(start=START),
        [terms],
        {"plan": Usage(used_count, used_amount)},
        incident(cost=cost),
    )
    assert decision.covered_amount >= 0
    assert decision.client_share >= 0
    assert decision.covered_amount + decision.client_share == cost
    assert decision.covered_amount <= max(cost - franchise, D(0))
    if cap:
        assert decision.covered_amount <= cap
    if yearly:
        assert decision.covered_amount <= max(yearly - used_amount, D(0))
    if count_cap and used_count >= count_cap:
        assert decision.covered_amount == 0


@given(
    usage=st.builds(Usage, st.integers(0, 10), money),
    ops=st.lists(st.tuples(st.booleans(), money), max_size=20),
)
def test_counters_never_negative(usage, ops):
    for add, amount in ops:
        usage = coverage.consume(usage, amount) if add else coverage.give_back(usage, amount)
        assert usage.count >= 0 and usage.amount >= 0


@pytest.mark.parametrize(
    ("table", "states"),
    [
        (workflow.SUBSCRIPTION, 6),
        (workflow.DOSSIER, 7),
        (workflow.CREDIT_NOTE, 6),
        (workflow.DUNNING_CASE, 3),
    ],
)
def test_workflow_tables_closed(table, states):
    assert len(table) == states
    for source, targets in table.items():
        assert targets <= table.keys(), source
        for target in table:
            if target in targets:
                workflow.check_transition(table, source, target)
            else:
                with pytest.raises(workflow.TransitionError) as error:
                    workflow.check_transition(table, source, target)
                assert error.value.code == "not_allowed"
    with pytest.raises(workflow.TransitionError):
        workflow.check_transition(table, "nope", next(iter(table)))
    assert workflow.allowed_targets(table, "nope") == frozenset()
