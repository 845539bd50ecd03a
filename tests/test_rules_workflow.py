"""Pure tests of the transition tables (depanssur.rules.workflow): every allowed and every
refused transition, written out here independently of the tables."""

import itertools

import pytest

from depanssur.rules import workflow
from depanssur.rules.workflow import TransitionError, allowed_targets, check_transition

EXPECTED = {
    "SUBSCRIPTION": {
        ("draft", "carence"),
        ("draft", "cancelled"),
        ("carence", "active"),
        ("carence", "suspended"),
        ("carence", "terminated"),
        ("active", "suspended"),
        ("active", "terminated"),
        ("suspended", "carence"),
        ("suspended", "active"),
        ("suspended", "terminated"),
    },
    "DOSSIER": {
        ("declared", "qualified"),
        ("declared", "refused"),
        ("declared", "cancelled"),
        ("qualified", "scheduled"),
        ("qualified", "done"),
        ("qualified", "refused"),
        ("qualified", "cancelled"),
        ("scheduled", "done"),
        ("scheduled", "cancelled"),
        ("done", "closed"),
        ("done", "cancelled"),
    },
    "CREDIT_NOTE": {
        ("draft", "to_approve"),
        ("draft", "approved"),
        ("draft", "cancelled"),
        ("to_approve", "approved"),
        ("to_approve", "cancelled"),
        ("approved", "issued"),
        ("issued", "refunded"),
    },
    "DUNNING_CASE": {
        ("open", "paused"),
        ("open", "closed"),
        ("paused", "open"),
        ("paused", "closed"),
    },
}
STATES = {
    "SUBSCRIPTION": {"draft", "carence", "active", "suspended", "terminated", "cancelled"},
    "DOSSIER": {"declared", "qualified", "scheduled", "done", "closed", "refused", "cancelled"},
    "CREDIT_NOTE": {"draft", "to_approve", "approved", "issued", "refunded", "cancelled"},
    "DUNNING_CASE": {"open", "paused", "closed"},
}
FINAL = {
    "SUBSCRIPTION": {"terminated", "cancelled"},
    "DOSSIER": {"closed", "refused", "cancelled"},
    "CREDIT_NOTE": {"refunded", "cancelled"},
    "DUNNING_CASE": {"closed"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_transition_allowed_or_refused(name):
    table = getattr(workflow, name)
    assert set(table) == STATES[name]
    for source, target in itertools.product(STATES[name], repeat=2):
        if (source, target) in EXPECTED[name]:
            check_transition(table, source, target)
        else:
            with pytest.raises(TransitionError) as error:
                check_transition(table, source, target)
            assert (error.value.code, error.value.from_state, error.value.to_state) == (
                "not_allowed",
                source,
                target,
            )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_allowed_targets_and_final_states(name):
    table = getattr(workflow, name)
    for state in STATES[name]:
        expected = frozenset(t for s, t in EXPECTED[name] if s == state)
        assert allowed_targets(table, state) == expected
        assert workflow.is_final(table, state) == (state in FINAL[name])
    assert allowed_targets(table, "nope") == frozenset()
    with pytest.raises(KeyError):
        workflow.is_final(table, "nope")


def test_unknown_states():
    for source, target in (("nope", "active"), ("active", "nope"), (None, "active")):
        with pytest.raises(TransitionError) as error:
            check_transition(workflow.SUBSCRIPTION, source, target)
        assert error.value.code == "unknown_state"
    # a TransitionError is a ValueError carrying a readable message
    with pytest.raises(ValueError, match="not_allowed: terminated -> active"):
        check_transition(workflow.SUBSCRIPTION, "terminated", "active")


def test_staying_put_is_not_a_transition():
    for name, table in ((n, getattr(workflow, n)) for n in EXPECTED):
        for state in STATES[name]:
            with pytest.raises(TransitionError):
                check_transition(table, state, state)


def test_issued_credit_note_is_never_cancelled():
    for state in ("approved", "issued", "refunded"):
        with pytest.raises(TransitionError):
            check_transition(workflow.CREDIT_NOTE, state, "cancelled")


def test_every_state_is_reachable_from_the_initial_one():
    for name, initial in (
        ("SUBSCRIPTION", "draft"),
        ("DOSSIER", "declared"),
        ("CREDIT_NOTE", "draft"),
        ("DUNNING_CASE", "open"),
    ):
        table = getattr(workflow, name)
        seen, todo = {initial}, [initial]
        while todo:
            for target in allowed_targets(table, todo.pop()):
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        assert seen == STATES[name], name


def test_dossier_counter_effect():
    assert workflow.dossier_counter_effect("qualified", "done") == 1
    assert workflow.dossier_counter_effect("scheduled", "done") == 1
    assert workflow.dossier_counter_effect("done", "cancelled") == -1
    assert workflow.dossier_counter_effect("done", "closed") == 0
    assert workflow.dossier_counter_effect("scheduled", "cancelled") == 0
    assert workflow.dossier_counter_effect("declared", "qualified") == 0
    with pytest.raises(TransitionError):
        workflow.dossier_counter_effect("closed", "cancelled")
    # along any path, what is consumed is given back at most once
    for path in (
        ["declared", "qualified", "scheduled", "done", "cancelled"],
        ["declared", "qualified", "done", "closed"],
        ["declared", "qualified", "scheduled", "cancelled"],
    ):
        effects = [workflow.dossier_counter_effect(a, b) for a, b in itertools.pairwise(path)]
        assert sum(effects) == (1 if path[-1] == "closed" else 0)
        assert all(sum(effects[: i + 1]) in (0, 1) for i in range(len(effects)))
