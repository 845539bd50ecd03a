from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from depanssur.rules.dunning import DEFAULT_LADDER, DunningLevel, due_levels, next_action_date

START = date(2026, 3, 1)


def test_default_ladder():
    assert [(lv.days_after, lv.channel) for lv in DEFAULT_LADDER] == [
        (0, "email"),
        (3, "sms"),
        (7, "email"),
        (15, "both"),
        (30, "both"),
    ]
    assert "suspend" in DEFAULT_LADDER[3].actions
    assert "terminate" in DEFAULT_LADDER[4].actions


def test_due_levels_examples():
    assert [lv.sequence for lv in due_levels(DEFAULT_LADDER, START, [], START)] == [10]
    assert due_levels(DEFAULT_LADDER, START, [10], START + timedelta(days=2)) == []
    # a missed run: everything overdue comes at once, in order
    due = due_levels(DEFAULT_LADDER, START, [10], START + timedelta(days=16))
    assert [lv.sequence for lv in due] == [20, 30, 40]
    assert next_action_date(DEFAULT_LADDER, START, [10, 20, 30, 40]) == START + timedelta(days=30)
    assert next_action_date(DEFAULT_LADDER, START, [10, 20, 30, 40, 50]) is None


def test_invalid_levels():
    with pytest.raises(ValueError):
        DunningLevel(1, -1)
    with pytest.raises(ValueError):
        DunningLevel(1, 1, "pigeon")
    with pytest.raises(ValueError):
        DunningLevel(1, 1, "email", frozenset({"shout"}))


@given(st.lists(st.integers(min_value=0, max_value=45), max_size=30))
def test_each_level_once_in_order_never_early(run_offsets):
    done = []
    for offset in sorted(run_offsets) + sorted(run_offsets):  # every day run twice
        today = START + timedelta(days=offset)
        for level in due_levels(DEFAULT_LADDER, START, done, today):
            assert START + timedelta(days=level.days_after) <= today
            done.append(level.sequence)
    assert len(done) == len(set(done))
    assert done == sorted(done)
