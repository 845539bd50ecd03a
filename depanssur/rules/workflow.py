"""Allowed state transitions of Depanssur's records, in one table per model.

A table maps each state to the frozenset of states reachable in one step; terminal states map
to an empty set. The models never write a state freely: every change goes through
:func:`check_transition` (which raises :class:`TransitionError`), and the views use computed
booleans fed by :func:`allowed_targets`.

Subscription (``SUBSCRIPTION``)::

    draft ─confirm→ carence ─carence over→ active
    carence | active ─suspend→ suspended ─reactivate→ carence | active
    carence | active | suspended ─terminate→ terminated
    draft ─cancel→ cancelled

``carence`` is "active, still in its waiting period". Reactivation goes back to ``carence`` when
the waiting period is not over on the reactivation day, else to ``active`` (the model decides
with :func:`coverage.carence_end`); the suspended days stay uncovered.

Claim file (``DOSSIER``)::

    declared ─qualify→ qualified (covered or partly) | refused (not covered)
    qualified ─schedule→ scheduled ─complete→ done ─close→ closed
    qualified ─complete→ done         (intervention done without an appointment)
    qualified ─refuse→ refused        (new facts: not covered after all)
    declared | qualified | scheduled | done ─cancel→ cancelled

Coverage counters are consumed when the file enters ``done`` and given back when a ``done``
file is cancelled (:func:`dossier_counter_effect`); ``closed`` is final, so a closed file can
no longer give its counters back.

Credit note (``CREDIT_NOTE``)::

    draft ─submit→ to_approve (total above the threshold) ─approve→ approved
    draft ─approve→ approved (total within the threshold)
    approved ─issue→ issued ─paid→ refunded
    draft | to_approve ─cancel→ cancelled          (an issued note is never cancelled)

Dunning case (``DUNNING_CASE``): open ↔ paused, open | paused → closed.

Error codes of :class:`TransitionError`: ``unknown_state`` (a state the table does not know)
and ``not_allowed`` (known states, transition not in the table, including staying put).
"""

__all__ = [
    "CREDIT_NOTE",
    "DOSSIER",
    "DUNNING_CASE",
    "SUBSCRIPTION",
    "TransitionError",
    "allowed_targets",
    "check_transition",
    "dossier_counter_effect",
    "is_final",
]

SUBSCRIPTION = {
    "draft": frozenset({"carence", "cancelled"}),
    "carence": frozenset({"active", "suspended", "terminated"}),
    "active": frozenset({"suspended", "terminated"}),
    "suspended": frozenset({"carence", "active", "terminated"}),
    "terminated": frozenset(),
    "cancelled": frozenset(),
}

DOSSIER = {
    "declared": frozenset({"qualified", "refused", "cancelled"}),
    "qualified": frozenset({"scheduled", "done", "refused", "cancelled"}),
    "scheduled": frozenset({"done", "cancelled"}),
    "done": frozenset({"closed", "cancelled"}),
    "closed": frozenset(),
    "refused": frozenset(),
    "cancelled": frozenset(),
}

CREDIT_NOTE = {
    "draft": frozenset({"to_approve", "approved", "cancelled"}),
    "to_approve": frozenset({"approved", "cancelled"}),
    "approved": frozenset({"issued"}),
    "issued": frozenset({"refunded"}),
    "refunded": frozenset(),
    "cancelled": frozenset(),
}

DUNNING_CASE = {
    "open": frozenset({"paused", "closed"}),
    "paused": frozenset({"open", "closed"}),
    "closed": frozenset(),
}


class TransitionError(ValueError):
    """A refused transition; ``code`` is ``unknown_state`` or ``not_allowed``."""

    def __init__(self, code, from_state, to_state):
        super().__init__(f"{code}: {from_state} -> {to_state}")
        self.code = code
        self.from_state = from_state
        self.to_state = to_state


def allowed_targets(table, state) -> frozenset:
    """The states reachable from ``state`` in one step (empty for an unknown state)."""
    return frozenset(table.get(state, ()))


def is_final(table, state) -> bool:
    """True when nothing can follow ``state`` (unknown states raise ``KeyError``)."""
    return not table[state]


def check_transition(table, from_state, to_state) -> None:
    """Raise :class:`TransitionError` unless ``from_state`` → ``to_state`` is in ``table``."""
    if from_state not in table or to_state not in table:
        raise TransitionError("unknown_state", from_state, to_state)
    if to_state not in table[from_state]:
        raise TransitionError("not_allowed", from_state, to_state)


def dossier_counter_effect(from_state, to_state) -> int:
    """How a claim file's transition moves the coverage counters: ``+1`` when it enters
    ``done`` (consume one intervention and its covered amount), ``-1`` when a ``done`` file is
    cancelled (give them back), else ``0``. Raises :class:`TransitionError` for a transition
    ``DOSSIER`` refuses. Only files whose decision is covered or partial consume anything."""
    check_transition(DOSSIER, from_state, to_state)
    if to_state == "done":
        return 1
    if from_state == "done" and to_state == "cancelled":
        return -1
    return 0
