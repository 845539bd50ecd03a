"""The coverage decision for an incident declared on a subscription.

Inputs (frozen dataclasses, money as ``Decimal``, dates as ``date``):

- :class:`CoverageTerms`: what one *source* sells — the plan (``source="plan"``) or an option
  (``source="option:<id>"``): categories, its own start date, carence, franchise and caps.
- :class:`Contract`: the subscription's dates — start, last covered day (termination),
  suspensions and the history of insured homes (risk addresses).
- :class:`Usage`: the counters of one source for the coverage year of the incident.
- :class:`Incident`: day, category code, address key, cost (estimated or final).

:func:`decide` checks, in this order (the first failing one is the reason, status
``not_covered``, covered amount 0, the client pays everything):

1. ``not_started``: the incident happened before the subscription started;
2. ``terminated``: after the last covered day (``termination_date`` itself is still covered);
3. ``suspended``: during a suspension (both bounds included, open end = still suspended);
4. ``address``: not at the home insured on that day (skipped when no address history is given);
5. ``category``: no source covers the category on that day;
6. ``carence``: the waiting period of every source covering it is still running
   (``details["from"]`` is the first day it will be covered);
7. ``count_cap``: the chosen source's yearly number of interventions is used up;
8. ``amount_cap``: the chosen source's yearly amount is used up.

Then ``covered = min(cost − franchise, cap per intervention, remaining yearly amount)``, never
negative, and ``client_share = cost − covered`` (so ``covered + client_share == cost`` always).
The status is ``covered`` when the client pays nothing, ``partial`` otherwise, with the binding
limit as reason (``franchise``, ``intervention_cap`` or ``yearly_cap``; on a tie the first of
these). When a positive cost does not exceed the franchise the status is ``not_covered`` with
reason ``franchise``. A zero cost (no estimate yet) of an eligible incident is ``covered`` with
0 €: eligibility is decided, the amounts come with the final cost. A cap of 0 means "no cap".

Several sources: the sources covering the category on the incident day are tried in the order
given (pass the plan first, then the options by start date); the first whose carence is over is
chosen, so the plan wins when it covers the category, and an option only adds categories (or
covers while the plan is still in carence). Several terms may share one source: after an
upgrade the plan is passed as one :class:`CoverageTerms` per coverage start (categories kept
from the old plan keep their start and carence, the new ones start their own), all with
``source="plan"``. Yearly counters are kept **per source**: the plan's counters are shared by
all the plan's categories and terms, each option has its own; the model stores one
:class:`Usage` per source and coverage year and passes them as ``{source: Usage}``. A source
whose caps are used up does not fall back to another source.

Counters move only through :func:`consume` (intervention done) and :func:`give_back`
(done intervention cancelled); both keep them non-negative. Coverage years come from
:func:`coverage_year_bounds` (anniversary based), waiting periods from :func:`carence_end`.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from .money import ZERO, to_money
from .periods import coverage_year_bounds

__all__ = [
    "REASONS",
    "REASON_TEXT",
    "STATUSES",
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
    "to_money",
]

STATUSES = ("covered", "partial", "not_covered")

#: English text of each reason code (the Odoo layer translates it).
REASON_TEXT = {
    "not_started": "Subscription not started",
    "terminated": "Subscription terminated",
    "suspended": "Subscription suspended",
    "address": "Not the insured home",
    "category": "Category not covered",
    "carence": "Waiting period",
    "count_cap": "Yearly number of interventions reached",
    "amount_cap": "Yearly amount cap reached",
    "franchise": "Franchise",
    "intervention_cap": "Cap per intervention",
    "yearly_cap": "Yearly amount cap",
}
REASONS = tuple(REASON_TEXT)


def _non_negative_money(value, name):
    amount = to_money(value)
    if amount < 0:
        raise ValueError(f"{name} cannot be negative")
    return amount


@dataclass(frozen=True)
class CoverageTerms:
    """What one source (the plan or an option) covers, from ``start`` to ``end`` (inclusive).

    ``categories`` is a frozenset of category codes (``"plumbing"``, ``"electricity"``,
    ``"locksmith"``, ``"heating"``, ``"appliances"``...). ``start`` is the day this source's
    coverage began (its carence runs from there). Money fields are rounded to the cent; a cap of
    0 means no cap. Negative values raise ``ValueError``.
    """

    source: str
    categories: frozenset
    start: date
    carence_days: int = 0
    franchise: Decimal = ZERO
    cap_per_intervention: Decimal = ZERO
    yearly_cap_amount: Decimal = ZERO
    yearly_cap_count: int = 0
    end: date | None = None

    def __post_init__(self):
        if self.carence_days < 0 or self.yearly_cap_count < 0:
            raise ValueError("carence_days and yearly_cap_count cannot be negative")
        object.__setattr__(self, "categories", frozenset(self.categories))
        for name in ("franchise", "cap_per_intervention", "yearly_cap_amount"):
            object.__setattr__(self, name, _non_negative_money(getattr(self, name), name))

    def covers(self, category: str, day: date) -> bool:
        """True when ``category`` is sold by this source on ``day`` (carence not considered)."""
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
    """The subscription's dates: start, last covered day, suspensions, insured homes.

    ``suspensions``: ``((first day, last day or None), ...)``, both bounds included, ``None`` =
    still suspended. ``addresses``: ``((address key, first day, last day or None), ...)``; the key
    is anything comparable with :attr:`Incident.address` (the model uses the partner id).
    """

    start: date
    termination_date: date | None = None
    suspensions: tuple = ()
    addresses: tuple = ()

    def suspended_on(self, day: date) -> bool:
        return any(begin <= day and (end is None or day <= end) for begin, end in self.suspensions)

    def address_on(self, day: date):
        """Key of the home insured on ``day`` (``None`` when none)."""
        for key, begin, end in self.addresses:
            if begin <= day and (end is None or day <= end):
                return key
        return None


@dataclass(frozen=True)
class Usage:
    """Counters of one source for one coverage year: interventions used, amount consumed."""

    count: int = 0
    amount: Decimal = ZERO

    def __post_init__(self):
        if self.count < 0 or Decimal(self.amount) < 0:
            raise ValueError("usage counters cannot be negative")


@dataclass(frozen=True)
class Incident:
    """An incident: ``day`` it happened, ``category`` code, ``address`` key, ``cost`` (≥ 0)."""

    day: date
    category: str
    address: object
    cost: Decimal


@dataclass(frozen=True)
class CoverageDecision:
    """Result of :func:`decide`.

    ``status``: ``covered`` | ``partial`` | ``not_covered``; ``reason``: a code of
    :data:`REASONS` (``None`` when fully covered); ``franchise``: the franchise applied (never
    more than the cost); ``source``: the chosen source (``None`` when refused before one is
    chosen); ``remaining_count`` / ``remaining_amount``: what the chosen source had left this
    coverage year *before* this incident (``None`` = no cap); ``details``: extra facts
    (``{"from": date}`` for ``carence``).
    """

    status: str
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

    @property
    def reason_text(self) -> str:
        """English text of the reason (empty when fully covered)."""
        return REASON_TEXT.get(self.reason, "") if self.reason else ""

    @property
    def remaining_count_after(self) -> int | None:
        """Interventions left once this one is consumed (``None`` = no cap)."""
        if self.remaining_count is None:
            return None
        return max(self.remaining_count - (1 if self.is_covered else 0), 0)

    @property
    def remaining_amount_after(self) -> Decimal | None:
        """Yearly amount left once this one is consumed (``None`` = no cap)."""
        if self.remaining_amount is None:
            return None
        return max(self.remaining_amount - self.covered_amount, ZERO)


def carence_end(start: date, carence_days: int) -> date:
    """First covered day after a waiting period of ``carence_days`` days starting on ``start``
    (30 days from 1 January: covered from 31 January)."""
    if carence_days < 0:
        raise ValueError("carence_days cannot be negative")
    return start + timedelta(days=carence_days)


def _refuse(reason, cost, **extra):
    return CoverageDecision("not_covered", reason, ZERO, ZERO, cost, **extra)


def decide(
    contract: Contract, terms: list, usage_by_source: dict, incident: Incident
) -> CoverageDecision:
    """Decide the coverage of ``incident`` (see the module docstring for the rules).

    ``terms``: the :class:`CoverageTerms` of the subscription, plan first; ``usage_by_source``
    maps a source to its :class:`Usage` in the coverage year of the incident (missing: nothing
    used). A negative cost raises ``ValueError``.
    """
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
    yearly_cap = chosen.yearly_cap_amount
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
    franchise = min(chosen.franchise, cost)
    limits = [("franchise", cost - franchise)]
    if chosen.cap_per_intervention:
        limits.append(("intervention_cap", chosen.cap_per_intervention))
    if remaining_amount is not None:
        limits.append(("yearly_cap", remaining_amount))
    reason, covered = min(limits, key=lambda item: item[1])
    covered = max(covered, ZERO)
    share = cost - covered
    if share == 0:
        return CoverageDecision("covered", None, covered, franchise, ZERO, **common)
    if covered == 0:
        return CoverageDecision("not_covered", "franchise", ZERO, franchise, cost, **common)
    return CoverageDecision("partial", reason, covered, franchise, share, **common)


def _non_negative_amount(amount) -> Decimal:
    amount = to_money(amount or 0)
    if amount < 0:
        raise ValueError("an intervention amount cannot be negative")
    return amount


def consume(usage: Usage, amount) -> Usage:
    """Counters after one more intervention of ``amount`` covered (intervention done)."""
    return Usage(usage.count + 1, to_money(usage.amount) + _non_negative_amount(amount))


def give_back(usage: Usage, amount) -> Usage:
    """Counters after a done intervention of ``amount`` is cancelled (never below zero)."""
    return Usage(
        max(usage.count - 1, 0),
        max(to_money(usage.amount) - _non_negative_amount(amount), ZERO),
    )
