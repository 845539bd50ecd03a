"""Allowed state transitions of Depanssur's records, in one table per model.

The models never write a state freely: they call :func:`check_transition` and expose
:func:`allowed_targets` through computed booleans that the views use.
"""

SUBSCRIPTION = {
    "draft": {"carence", "cancelled"},
    "carence": {"active", "suspended", "terminated"},
    "active": {"suspended", "terminated"},
    "suspended": {"carence", "active", "terminated"},
    "terminated": set(),
    "cancelled": set(),
}

# Counters are consumed when the intervention is done and given back if it is cancelled later.
DOSSIER = {
    "declared": {"qualified", "refused", "cancelled"},
    "qualified": {"scheduled", "done", "refused", "cancelled"},
    "scheduled": {"done", "cancelled"},
    "done": {"closed", "cancelled"},
    "closed": set(),
    "refused": set(),
    "cancelled": set(),
}

CREDIT_NOTE = {
    "draft": {"to_approve", "approved", "cancelled"},
    "to_approve": {"approved", "cancelled"},
    "approved": {"issued"},
    "issued": {"refunded"},
    "refunded": set(),
    "cancelled": set(),
}

DUNNING_CASE = {
    "open": {"paused", "closed"},
    "paused": {"open", "closed"},
    "closed": set(),
}


class TransitionError(ValueError):
    """A refused transition; ``code`` is ``unknown_state`` or ``not_allowed``."""

    def __init__(self, code, from_state, to_state):
        super().__init__(f"{code}: {from_state} -> {to_state}")
        self.code = code
        self.from_state = from_state
        self.to_state = to_state


def allowed_targets(table, state):
    """The states reachable from ``state`` in one step (empty for an unknown state)."""
    return frozenset(table.get(state, ()))


def check_transition(table, from_state, to_state):
    """Raise :class:`TransitionError` unless ``from_state`` → ``to_state`` is in ``table``."""
    if from_state not in table or to_state not in table:
        raise TransitionError("unknown_state", from_state, to_state)
    if to_state not in table[from_state]:
        raise TransitionError("not_allowed", from_state, to_state)
