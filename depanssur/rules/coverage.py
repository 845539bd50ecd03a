"""The coverage decision for an incident declared on a subscription.

Checks, in this order (the first failing one is the reason, status ``not_covered``):

1. ``not_started``: the incident happened before the subscription started;
2. ``terminated``: after the last covered day;
3. ``suspended``: during a suspension;
4. ``address``: not at the home insured on that day;
5. ``category``: no plan or option covers the category on that day;
6. ``carence``: the waiting period of the plan or option covering it is not over;
7. ``count_cap``: the yearly number of interventions is used up;
8. ``amount_cap``: the yearly amount is used up.

Then ``covered = min(cost − franchise, cap per intervention, remaining yearly amount)``, never
negative; ``client_share = cost − covered``. The status is ``covered`` when the client pays
nothing, ``partial`` otherwise, with the binding limit as reason (``franchise``,
``intervention_cap`` or ``yearly_cap``); ``not_covered``/``franchise`` when the cost does not
exceed the franchise. A cap of 0 means "no cap".

Several sources may cover a category (the plan, an option): the plan wins when it covers the
category, else the first option. Yearly counters are kept per source (the plan's, each option's).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from .money import ZERO, to_money
from .periods import coverage_year_bounds

__all__ = [
    "REASONS",
    "Contract",
    "CoverageDecision",
    "CoverageTerms",
    "Incident",
    "Usage",
    "carence_end",
    "consume",
    "coverage_year_bounds",
    "decide",
    "give_back",
]

REASONS = (
    "not_started",
    "terminated",
    "suspended",
    "address",
    "category",
    "carence",
    "count_cap",
    "amount_cap",
    "franchise",
    "intervention_cap",
    "yearly_cap",
)


@dataclass(frozen=True)
class CoverageTerms:
    """What one source (the plan or an option) covers, from ``start`` to ``end`` (inclusive)."""

    source: str
    categories: frozenset
    start: date
    carence_days: int = 0
    franchise: Decimal = ZERO
    cap_per_intervention: Decimal = ZERO
    yearly_cap_amount: Decimal = ZERO
    yearly_cap_count: int = 0
    end: date | None = None

    def covers(self, category: str, day: date) -> bool:
        return (
            category in self.categories
            and self.start <= day
            and (self.end is None or day <= self.end)
        )

    @property
    def carence_end(self) -> date:
        """First covered day."""
        return carence_end(self.start, self.carence_days)


@dataclass(frozen=True)
class Contract:
    """The subscription's dates: start, last covered day, suspensions, insured homes."""

    start: date
    termination_date: date | None = None
    suspensions: tuple = ()  # ((first day, last day or None), ...)
    addresses: tuple = ()  # ((address key, first day, last day or None), ...)

    def suspended_on(self, day: date) -> bool:
        return any(begin <= day and (end is None or day <= end) for begin, end in self.suspensions)

    def address_on(self, day: date):
        for key, begin, end in self.addresses:
            if begin <= day and (end is None or day <= end):
                return key
        return None


@dataclass(frozen=True)
class Usage:
    """Counters of one source for one coverage year."""

    count: int = 0
    amount: Decimal = ZERO

    def __post_init__(self):
        if self.count < 0 or Decimal(self.amount) < 0:
            raise ValueError("usage counters cannot be negative")


@dataclass(frozen=True)
class Incident:
    day: date
    category: str
    address: object
    cost: Decimal


@dataclass(frozen=True)
class CoverageDecision:
    status: str  # covered | partial | not_covered
    reason: str | None
    covered_amount: Decimal = ZERO
    franchise: Decimal = ZERO
    client_share: Decimal = ZERO
    source: str | None = None
    remaining_count: int | None = None
    remaining_amount: Decimal | None = None
    details: dict = field(default_factory=dict)

    @property
    def is_covered(self) -> bool:
        return self.status in ("covered", "partial")


def carence_end(start: date, carence_days: int) -> date:
    """First covered day after a waiting period of ``carence_days`` days starting on ``start``."""
    return start + timedelta(days=carence_days)


def _refuse(reason, cost, **extra):
    return CoverageDecision("not_covered", reason, ZERO, ZERO, cost, **extra)


def decide(contract: Contract, terms: list, usage_by_source: dict, incident: Incident):
    """Decide the coverage of ``incident``; ``usage_by_source`` maps a source to its
    :class:`Usage` in the coverage year of the incident (missing: nothing used)."""
    cost = to_money(incident.cost)
    if cost < 0:
        raise ValueError("the cost cannot be negative")
    day = incident.day
    if day < contract.start:
        return _refuse("not_started", cost)
    if contract.termination_date and day > contract.termination_date:
        return _refuse("terminated", cost)
    if contract.suspended_on(day):
        return _refuse("suspended", cost)
    if contract.addresses and contract.address_on(day) != incident.address:
        return _refuse("address", cost)
    candidates = [t for t in terms if t.covers(incident.category, day)]
    if not candidates:
        return _refuse("category", cost)
    ready = [t for t in candidates if t.carence_end <= day]
    if not ready:
        first = min(candidates, key=lambda t: t.carence_end)
        return _refuse("carence", cost, source=first.source, details={"from": first.carence_end})
    chosen = ready[0]
    usage = usage_by_source.get(chosen.source) or Usage()
    remaining_count = (
        None if not chosen.yearly_cap_count else max(chosen.yearly_cap_count - usage.count, 0)
    )
    yearly_cap = to_money(chosen.yearly_cap_amount)
    remaining_amount = None if not yearly_cap else max(yearly_cap - to_money(usage.amount), ZERO)
    common = {
        "source": chosen.source,
        "remaining_count": remaining_count,
        "remaining_amount": remaining_amount,
    }
    if remaining_count == 0:
        return _refuse("count_cap", cost, **common)
    if remaining_amount is not None and remaining_amount <= 0:
        return _refuse("amount_cap", cost, **common)
    franchise = min(to_money(chosen.franchise), cost)
    limits = [("franchise", cost - franchise)]
    if chosen.cap_per_intervention:
        limits.append(("intervention_cap", to_money(chosen.cap_per_intervention)))
    if remaining_amount is not None:
        limits.append(("yearly_cap", remaining_amount))
    reason, covered = min(limits, key=lambda item: item[1])
    covered = max(covered, ZERO)
    share = cost - covered
    if covered == 0:
        return CoverageDecision("not_covered", "franchise", ZERO, franchise, cost, **common)
    if share == 0:
        return CoverageDecision("covered", None, covered, franchise, ZERO, **common)
    return CoverageDecision("partial", reason, covered, franchise, share, **common)


def consume(usage: Usage, amount) -> Usage:
    """Counters after one more intervention of ``amount`` covered."""
    return Usage(usage.count + 1, to_money(usage.amount) + to_money(amount))


def give_back(usage: Usage, amount) -> Usage:
    """Counters after a cancelled intervention is given back (never below zero)."""
    return Usage(max(usage.count - 1, 0), max(to_money(usage.amount) - to_money(amount), ZERO))
