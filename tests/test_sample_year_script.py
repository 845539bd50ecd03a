"""The script of the sample year (depanssur/tools/sample_year.py): deterministic, within the
period, and a book that has every story the demo needs."""

import random
from collections import Counter
from datetime import date, timedelta

import phonenumbers

from depanssur.tools import sample_year

TODAY = date(2026, 11, 30)


def test_same_seed_same_book_other_seed_other_book():
    first = sample_year.build_scripts(7, 50, 18, TODAY)
    assert first == sample_year.build_scripts(7, 50, 18, TODAY)
    assert first != sample_year.build_scripts(8, 50, 18, TODAY)


def test_events_inside_the_period_and_after_the_sign_up():
    start, scripts = sample_year.build_scripts(2026, 300, 18, TODAY)
    assert start == TODAY - timedelta(days=548)
    for script in scripts:
        assert start <= script.signup_day < TODAY
        for day in (script.upgrade_day, script.downgrade_day, script.move_day):
            assert day is None or script.signup_day < day < TODAY
        if script.termination_day:
            assert script.signup_day < script.termination_day < TODAY
        assert all(script.signup_day < claim.day <= TODAY for claim in script.claims)
        assert not (script.upgrade_day and script.downgrade_day)


def test_a_book_with_every_story():
    _start, scripts = sample_year.build_scripts(2026, 300, 18, TODAY)
    assert len({s.email for s in scripts}) == 300
    assert all(s.email.isascii() and s.email.endswith("@example.com") for s in scripts)
    assert len({s.mobile for s in scripts}) == 300
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(s.mobile, "FR")) for s in scripts)
    assert set(Counter(s.channel for s in scripts)) == {"web_form", "phone"}
    assert set(Counter(s.payer for s in scripts)) == {"good", "late", "bad"}
    assert sum(1 for s in scripts if s.termination_day) > 30
    assert any(s.upgrade_day for s in scripts) and any(s.downgrade_day for s in scripts)
    outcomes = {claim.outcome for s in scripts for claim in s.claims}
    assert outcomes == {
        "declared",
        "qualified",
        "scheduled",
        "done",
        "closed",
        "refused",
        "cancelled",
    }


def test_a_small_book_still_has_a_claim_in_every_state():
    _start, scripts = sample_year.build_scripts(7, 30, 18, TODAY)
    outcomes = {claim.outcome for s in scripts for claim in s.claims}
    assert {
        "declared",
        "qualified",
        "scheduled",
        "done",
        "closed",
        "refused",
        "cancelled",
    } <= outcomes


def test_a_small_book_still_tells_every_story():
    for seed in (7, 8, 2026):
        _start, scripts = sample_year.build_scripts(seed, 30, 18, TODAY)
        old = [s for s in scripts if s.signup_day <= TODAY - timedelta(days=150)]
        assert any(s.payer == "late" and not s.termination_day for s in old), seed
        assert any(s.payer == "bad" and not s.termination_day for s in old), seed
        assert any(s.upgrade_day for s in scripts), seed
        assert any(s.downgrade_day for s in scripts), seed
        assert any(s.move_day for s in scripts), seed
        assert any(s.termination_reason for s in scripts), seed
    # a late payer's second invoice is always late; a bad payer stops after a few
    script = next(s for s in scripts if s.payer == "late")
    assert script.payment_delay(random.Random(1), 2) in sample_year.LATE_DAYS
    script = next(s for s in scripts if s.payer == "bad")
    assert script.payment_delay(random.Random(1), script.stop_paying_after + 1) is None
