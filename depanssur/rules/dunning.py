"""The dunning ladder ("relances impayés"): which levels are due, each exactly once.

A case starts on the failure / due date (D). Level *n* is due on D + ``days_after``. A daily run
executes every level due and not done yet, in order; if runs were missed, the overdue levels are
all executed in that run, in order (the client gets the whole story, the actions happen once).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

CHANNELS = ("email", "sms", "both")
ACTIONS = ("retry_payment", "suspend", "terminate", "collection")


@dataclass(frozen=True)
class DunningLevel:
    sequence: int
    days_after: int
    channel: str = "email"
    actions: frozenset = field(default_factory=frozenset)
    name: str = ""

    def __post_init__(self):
        if self.days_after < 0:
            raise ValueError("days_after cannot be negative")
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")
        unknown = set(self.actions) - set(ACTIONS)
        if unknown:
            raise ValueError(f"unknown actions {sorted(unknown)}")


DEFAULT_LADDER = (
    DunningLevel(10, 0, "email", frozenset(), "Relance J+0"),
    DunningLevel(20, 3, "sms", frozenset({"retry_payment"}), "Relance J+3"),
    DunningLevel(30, 7, "email", frozenset({"retry_payment"}), "Relance J+7"),
    DunningLevel(40, 15, "both", frozenset({"suspend"}), "Suspension J+15"),
    DunningLevel(50, 30, "both", frozenset({"terminate"}), "Résiliation J+30"),
)


def ordered(ladder):
    return sorted(ladder, key=lambda level: (level.days_after, level.sequence))


def due_levels(ladder, start: date, done_sequences, on_date: date):
    """Levels due on ``on_date`` and not done yet (``done_sequences``), in ladder order."""
    done = set(done_sequences)
    return [
        level
        for level in ordered(ladder)
        if level.sequence not in done and start + timedelta(days=level.days_after) <= on_date
    ]


def next_action_date(ladder, start: date, done_sequences):
    """Date of the next level not done yet, or None when the ladder is finished."""
    done = set(done_sequences)
    pending = [level for level in ordered(ladder) if level.sequence not in done]
    return start + timedelta(days=pending[0].days_after) if pending else None
