"""Pure tests of the coverage decision (depanssur.rules.coverage) with the demo catalogue:
Essentiel 9,90 €/mois (plumbing + electricity, carence 30 j, franchise 0 €, 300 €/intervention,
2 interventions/an, 600 €/an), Confort, Premium and the Électroménager option."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from depanssur.rules import coverage
from depanssur.rules.coverage import (
    REASON_TEXT,
    REASONS,
    Contract,
    CoverageDecision,
    CoverageTerms,
    Incident,
    Usage,
    decide,
)

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
PREMIUM = CoverageTerms(
    source="plan",
    categories=frozenset({"plumbing", "electricity", "locksmith", "heating", "appliances"}),
    start=START,
    carence_days=15,
    cap_per_intervention=D("800"),
    yearly_cap_amount=D("2000"),
    yearly_cap_count=4,
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


def status(decision):
    return decision.status, decision.reason, decision.covered_amount, decision.client_share


# ----------------------------------------------------------------------------------------------
# Refusals, their order and their boundaries
# ----------------------------------------------------------------------------------------------


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


def test_first_failing_check_wins():
    # terminated, suspended, elsewhere and not covered: termination is reported
    everything_wrong = Contract(
        start=START,
        termination_date=date(2026, 2, 28),
        suspensions=((date(2026, 2, 1), None),),
        addresses=(("home", START, None),),
    )
    decision = decide(everything_wrong, [ESSENTIEL], {}, incident(category="heating", where="x"))
    assert decision.reason == "terminated"
    # elsewhere and uncovered category during carence: the address is reported
    decision = decide(CONTRACT, [ESSENTIEL], {}, incident(date(2026, 1, 5), "heating", where="x"))
    assert decision.reason == "address"
    # uncovered category during carence: the category is reported
    decision = decide(CONTRACT, [ESSENTIEL], {}, incident(date(2026, 1, 5), "heating"))
    assert decision.reason == "category"
    # count and amount caps both reached: the count is reported
    used_up = {"plan": Usage(2, D("600"))}
    assert decide(CONTRACT, [ESSENTIEL], used_up, incident()).reason == "count_cap"


def test_refusal_amounts_and_text():
    decision = decide(CONTRACT, [ESSENTIEL], {}, incident(category="locksmith", cost="180.40"))
    assert status(decision) == ("not_covered", "category", D("0.00"), D("180.40"))
    assert (decision.franchise, decision.source, decision.is_covered) == (D("0.00"), None, False)
    assert decision.reason_text == "Category not covered"
    assert set(REASONS) == set(REASON_TEXT) and len(REASONS) == 11


def test_termination_day_is_still_covered():
    ended = Contract(start=START, termination_date=date(2026, 6, 30))
    assert decide(ended, [ESSENTIEL], {}, incident(date(2026, 6, 30))).status == "covered"
    assert decide(ended, [ESSENTIEL], {}, incident(date(2026, 7, 1))).reason == "terminated"
    assert decide(ended, [ESSENTIEL], {}, incident(START)).reason == "carence"


def test_suspension_bounds_are_included():
    contract = Contract(
        start=START,
        suspensions=((date(2026, 3, 10), date(2026, 3, 20)), (date(2026, 5, 1), None)),
    )
    assert decide(contract, [ESSENTIEL], {}, incident(date(2026, 3, 9))).status == "covered"
    assert decide(contract, [ESSENTIEL], {}, incident(date(2026, 3, 10))).reason == "suspended"
    assert decide(contract, [ESSENTIEL], {}, incident(date(2026, 3, 20))).reason == "suspended"
    # reactivated: the suspended days stay uncovered, the next ones are covered
    assert decide(contract, [ESSENTIEL], {}, incident(date(2026, 3, 21))).status == "covered"
    assert decide(contract, [ESSENTIEL], {}, incident(date(2026, 9, 1))).reason == "suspended"


def test_address_history_follows_the_change_date():
    moved = Contract(
        start=START,
        addresses=(
            ("rue de la Paix", START, date(2026, 3, 31)),
            ("avenue Foch", date(2026, 4, 1), None),
        ),
    )
    old, new = "rue de la Paix", "avenue Foch"
    assert decide(moved, [ESSENTIEL], {}, incident(date(2026, 3, 31), where=old)).is_covered
    assert decide(moved, [ESSENTIEL], {}, incident(date(2026, 3, 31), where=new)).reason == (
        "address"
    )
    assert decide(moved, [ESSENTIEL], {}, incident(date(2026, 4, 1), where=new)).is_covered
    assert decide(moved, [ESSENTIEL], {}, incident(date(2026, 4, 1), where=old)).reason == (
        "address"
    )
    # without any address history the address is not checked
    assert decide(Contract(start=START), [ESSENTIEL], {}, incident(where="x")).is_covered


def test_carence_reports_the_first_covered_day():
    decision = decide(CONTRACT, [ESSENTIEL], {}, incident(date(2026, 1, 15)))
    assert (decision.status, decision.reason, decision.source) == (
        "not_covered",
        "carence",
        "plan",
    )
    assert decision.details == {"from": date(2026, 1, 31)}
    assert decision.client_share == D("200.00")


# ----------------------------------------------------------------------------------------------
# Amounts
# ----------------------------------------------------------------------------------------------


def test_essentiel_amounts():
    decision = decide(CONTRACT, [ESSENTIEL], {}, incident(cost="180"))
    assert status(decision) == ("covered", None, D("180.00"), D("0.00"))
    assert decision.reason_text == ""
    decision = decide(CONTRACT, [ESSENTIEL], {}, incident(cost="450"))
    assert status(decision) == ("partial", "intervention_cap", D("300.00"), D("150.00"))
    # second intervention of the year, 500 € already consumed: 100 € left
    decision = decide(CONTRACT, [ESSENTIEL], {"plan": Usage(1, D("500"))}, incident(cost="250"))
    assert status(decision) == ("partial", "yearly_cap", D("100.00"), D("150.00"))
    assert (decision.remaining_count, decision.remaining_amount) == (1, D("100.00"))
    assert (decision.remaining_count_after, decision.remaining_amount_after) == (0, D("0.00"))


def test_franchise_of_the_appliances_option():
    terms = [ESSENTIEL, APPLIANCES]
    decision = decide(CONTRACT, terms, {}, incident(date(2026, 3, 5), "appliances", "100"))
    assert status(decision) == ("partial", "franchise", D("70.00"), D("30.00"))
    assert (decision.franchise, decision.source) == (D("30.00"), "option:1")
    # 400 - 30 = 370, capped at 250 per intervention
    decision = decide(CONTRACT, terms, {}, incident(date(2026, 3, 5), "appliances", "400"))
    assert status(decision) == ("partial", "intervention_cap", D("250.00"), D("150.00"))
    # a cost within the franchise is not covered, and the franchise applied is the cost
    decision = decide(CONTRACT, terms, {}, incident(date(2026, 3, 5), "appliances", "20"))
    assert status(decision) == ("not_covered", "franchise", D("0.00"), D("20.00"))
    assert decision.franchise == D("20.00")
    decision = decide(CONTRACT, terms, {}, incident(date(2026, 3, 5), "appliances", "30"))
    assert status(decision) == ("not_covered", "franchise", D("0.00"), D("30.00"))


def test_zero_cost_is_eligible_with_nothing_to_pay():
    decision = decide(CONTRACT, [ESSENTIEL, APPLIANCES], {}, incident(cost="0"))
    assert status(decision) == ("covered", None, D("0.00"), D("0.00"))
    assert decision.remaining_count_after == 1
    decision = decide(CONTRACT, [APPLIANCES], {}, incident(date(2026, 3, 5), "appliances", "0"))
    assert status(decision) == ("covered", None, D("0.00"), D("0.00"))


def test_zero_cap_means_no_cap():
    unlimited = CoverageTerms(source="plan", categories=frozenset({"plumbing"}), start=START)
    usage = {"plan": Usage(40, D("99999"))}
    decision = decide(Contract(start=START), [unlimited], usage, incident(cost="12345.67"))
    assert status(decision) == ("covered", None, D("12345.67"), D("0.00"))
    assert (decision.remaining_count, decision.remaining_amount) == (None, None)
    assert (decision.remaining_count_after, decision.remaining_amount_after) == (None, None)


def test_amounts_are_rounded_to_the_cent():
    decision = decide(CONTRACT, [ESSENTIEL], {}, incident(cost="120.005"))
    assert decision.covered_amount == D("120.01")
    terms = CoverageTerms(
        source="plan", categories={"plumbing"}, start=START, franchise=0.1, yearly_cap_count=1
    )
    assert terms.categories == frozenset({"plumbing"}) and terms.franchise == D("0.10")


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        decide(CONTRACT, [ESSENTIEL], {}, incident(cost="-1"))
    for bad in ({"carence_days": -1}, {"franchise": D("-5")}, {"yearly_cap_count": -2}):
        with pytest.raises(ValueError):
            CoverageTerms(source="plan", categories=frozenset(), start=START, **bad)
    with pytest.raises(ValueError):
        coverage.carence_end(START, -1)


# ----------------------------------------------------------------------------------------------
# Several sources
# ----------------------------------------------------------------------------------------------


def test_the_plan_wins_when_it_covers_the_category():
    plumbing_option = CoverageTerms(
        source="option:7",
        categories=frozenset({"plumbing"}),
        start=START,
        franchise=D("50"),
        cap_per_intervention=D("100"),
    )
    decision = decide(CONTRACT, [ESSENTIEL, plumbing_option], {}, incident(cost="200"))
    assert (decision.source, decision.covered_amount) == ("plan", D("200.00"))
    # while the plan is in carence, the option (no carence) covers
    decision = decide(CONTRACT, [ESSENTIEL, plumbing_option], {}, incident(date(2026, 1, 10)))
    assert (decision.source, decision.reason, decision.covered_amount) == (
        "option:7",
        "intervention_cap",
        D("100.00"),
    )


def test_both_in_carence_reports_the_earliest_end():
    later = CoverageTerms(
        source="option:2", categories=frozenset({"plumbing"}), start=START, carence_days=10
    )
    decision = decide(CONTRACT, [ESSENTIEL, later], {}, incident(date(2026, 1, 5)))
    assert (decision.reason, decision.source, decision.details) == (
        "carence",
        "option:2",
        {"from": date(2026, 1, 11)},
    )


def test_counters_are_per_source():
    terms = [PREMIUM, APPLIANCES]
    # Premium covers appliances itself: its own counters apply, not the option's
    exhausted_option = {"option:1": Usage(2, D("500"))}
    decision = decide(CONTRACT, terms, exhausted_option, incident(category="appliances"))
    assert (decision.status, decision.source) == ("covered", "plan")
    # the plan's counters are shared by all its categories
    plan_used = {"plan": Usage(4, D("1200"))}
    for category in ("plumbing", "heating", "appliances"):
        assert decide(CONTRACT, terms, plan_used, incident(category=category)).reason == (
            "count_cap"
        )
    # an option's counters do not block the plan's categories
    essentiel = [ESSENTIEL, APPLIANCES]
    decision = decide(CONTRACT, essentiel, exhausted_option, incident(category="plumbing"))
    assert decision.status == "covered"
    decision = decide(
        CONTRACT, essentiel, exhausted_option, incident(date(2026, 3, 5), "appliances")
    )
    assert (decision.reason, decision.source) == ("count_cap", "option:1")


def test_upgrade_keeps_running_coverage_and_starts_a_new_carence():
    # Essentiel from 1 January, Confort from 1 April: plumbing/electricity keep their start,
    # locksmith/heating start their own 30-day carence; both share the plan's counters.
    kept = CoverageTerms(
        source="plan",
        categories=frozenset({"plumbing", "electricity"}),
        start=START,
        carence_days=30,
        cap_per_intervention=D("500"),
        yearly_cap_amount=D("1200"),
        yearly_cap_count=3,
    )
    added = CoverageTerms(
        source="plan",
        categories=frozenset({"locksmith", "heating"}),
        start=date(2026, 4, 1),
        carence_days=30,
        cap_per_intervention=D("500"),
        yearly_cap_amount=D("1200"),
        yearly_cap_count=3,
    )
    terms = [kept, added]
    day = date(2026, 4, 10)
    assert decide(CONTRACT, terms, {}, incident(day, "plumbing", "450")).covered_amount == D(
        "450.00"
    )
    decision = decide(CONTRACT, terms, {}, incident(day, "locksmith"))
    assert (decision.reason, decision.details) == ("carence", {"from": date(2026, 5, 1)})
    used = {"plan": Usage(3, D("900"))}
    assert decide(CONTRACT, terms, used, incident(date(2026, 5, 2), "heating")).reason == (
        "count_cap"
    )


def test_option_added_later_covers_from_its_own_start():
    option = CoverageTerms(
        source="option:1",
        categories=frozenset({"appliances"}),
        start=date(2026, 6, 1),
        carence_days=60,
        end=date(2026, 12, 31),
    )
    terms = [ESSENTIEL, option]

    def on(day):
        return decide(CONTRACT, terms, {}, incident(day, "appliances"))

    assert on(date(2026, 5, 31)) == CoverageDecision(
        "not_covered", "category", client_share=D("200.00")
    )
    assert (on(date(2026, 7, 30)).reason, on(date(2026, 7, 30)).details) == (
        "carence",
        {"from": date(2026, 7, 31)},
    )
    assert on(date(2026, 7, 31)) == CoverageDecision(
        "covered", None, D("200.00"), D("0.00"), D("0.00"), source="option:1"
    )
    assert on(date(2026, 12, 31)).status == "covered"
    # removed at the end of the year
    assert on(date(2027, 1, 1)).reason == "category"


# ----------------------------------------------------------------------------------------------
# Dates and counters
# ----------------------------------------------------------------------------------------------


def test_carence_end_and_coverage_year():
    assert coverage.carence_end(START, 30) == date(2026, 1, 31)
    assert coverage.carence_end(START, 0) == START
    assert coverage.carence_end(date(2026, 2, 15), 15) == date(2026, 3, 2)
    assert ESSENTIEL.carence_end == date(2026, 1, 31)
    assert APPLIANCES.carence_end == date(2026, 3, 2)
    assert coverage.coverage_year_bounds(date(2026, 3, 15), None, date(2027, 3, 14)) == (
        date(2026, 3, 15),
        date(2027, 3, 14),
    )
    assert coverage.coverage_year_bounds(date(2026, 3, 15), None, date(2027, 3, 15)) == (
        date(2027, 3, 15),
        date(2028, 3, 14),
    )


def test_counters():
    used = coverage.consume(Usage(), D("120.50"))
    assert used == Usage(1, D("120.50"))
    used = coverage.consume(used, D("300"))
    assert used == Usage(2, D("420.50"))
    assert coverage.give_back(used, D("300")) == Usage(1, D("120.50"))
    assert coverage.give_back(Usage(1, D("120.50")), D("200")) == Usage(0, D("0.00"))
    assert coverage.give_back(Usage(), D("50")) == Usage(0, D("0.00"))
    with pytest.raises(ValueError):
        Usage(-1, D("0"))
    with pytest.raises(ValueError):
        Usage(0, D("-0.01"))
    with pytest.raises(ValueError):
        coverage.consume(Usage(), D("-10"))


# ----------------------------------------------------------------------------------------------
# Properties
# ----------------------------------------------------------------------------------------------

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
    covered = decision.covered_amount
    assert covered >= 0
    assert decision.client_share >= 0
    assert covered + decision.client_share == cost
    assert covered <= max(cost - franchise, D(0))
    assert covered == covered.quantize(D("0.01"))
    assert decision.status in coverage.STATUSES
    assert decision.reason is None or decision.reason in REASONS
    if cap:
        assert covered <= cap
    if yearly:
        assert covered <= max(yearly - used_amount, D(0))
        assert decision.remaining_amount_after >= 0
    if count_cap and used_count >= count_cap:
        assert (covered, decision.reason) == (0, "count_cap")
    if decision.remaining_count_after is not None:
        assert decision.remaining_count_after >= 0
    # the status tells who pays
    if decision.status == "covered":
        assert (decision.reason, decision.client_share) == (None, 0)
    elif cost > 0:
        assert decision.client_share > 0 and decision.reason is not None
    assert (decision.status == "partial") == (0 < covered < cost)
    # when nothing limits the amount, everything above the franchise is covered
    if not (cap or yearly or count_cap):
        assert covered == max(cost - franchise, D(0))


@given(
    usage=st.builds(Usage, st.integers(0, 10), money),
    ops=st.lists(st.tuples(st.booleans(), money), max_size=20),
)
def test_counters_never_negative(usage, ops):
    for add, amount in ops:
        before = usage
        usage = coverage.consume(usage, amount) if add else coverage.give_back(usage, amount)
        assert usage.count >= 0 and usage.amount >= 0
        if add:
            assert (usage.count, usage.amount) == (before.count + 1, before.amount + amount)
        else:
            assert usage.count == max(before.count - 1, 0)
            assert usage.amount == max(before.amount - amount, D(0))


@given(amounts=st.lists(money, max_size=10))
def test_consume_then_give_back_restores_the_counters(amounts):
    usage = Usage()
    for amount in amounts:
        usage = coverage.consume(usage, amount)
    assert (usage.count, usage.amount) == (len(amounts), sum(amounts, D("0.00")))
    for amount in reversed(amounts):
        usage = coverage.give_back(usage, amount)
    assert usage == Usage(0, D("0.00"))
