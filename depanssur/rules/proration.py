"""Prorata temporis of a price difference, per day, half-up to the cent.

The amount for the days ``part_start``..``part_end`` (inclusive) of a period of ``N`` days is
computed by cumulative rounding::

    part = round(total × days_to_end / N) − round(total × days_to_start / N)

where ``days_to_start`` counts the period's days before the part, ``days_to_end`` those days
plus the part's own, and ``round`` is half-up to the cent (away from zero for a negative total).
Any split of a period into consecutive parts therefore sums exactly to ``total``, cent for cent,
and each part is within one cent of the exact prorata.

An upgrade (plan up, option added) is effective at once: the client owes the period price
difference for the days left in the current (already invoiced) period, the upgrade day included:
:func:`remaining_prorata`. A termination credits the unused days the same way.

Billing periods (``"monthly"`` / ``"yearly"``) are anchored on the subscription's start date;
a 31st anchor falls on the last day of shorter months (31 Jan → 28/29 Feb → 31 Mar). Their
helpers live in :mod:`.periods` and are re-exported here: ``period_bounds(anchor, period, day)``
→ ``(first day, last day)``, ``next_period_start(anchor, period, day)``, ``add_months``.
"""

from datetime import date, timedelta
from decimal import Decimal

from .money import to_money
from .periods import MONTHLY, YEARLY, add_months, next_period_start, period_bounds

ONE_DAY = timedelta(days=1)

__all__ = [
    "MONTHLY",
    "YEARLY",
    "add_months",
    "next_period_start",
    "period_bounds",
    "prorate",
    "remaining_prorata",
]


def prorate(
    total, period_start: date, period_end: date, part_start: date, part_end: date
) -> Decimal:
    """Part of ``total`` (a price for the whole period, inclusive bounds) for the part's days.

    ``total`` may be negative (a downgrade credit) and may be a float (read through ``str``).
    An empty part (``part_start == part_end + 1 day``) is worth 0. A part outside the period
    raises ``ValueError``.
    """
    if period_end < period_start:
        raise ValueError("the period ends before it starts")
    if part_start < period_start or part_end > period_end or part_start > part_end + ONE_DAY:
        raise ValueError("the part must lie within the period")
    total = Decimal(repr(total)) if isinstance(total, float) else Decimal(total)
    days = (period_end - period_start).days + 1
    before = (part_start - period_start).days
    through = (part_end - period_start).days + 1
    return to_money(total * through / days) - to_money(total * before / days)


def remaining_prorata(period_difference, anchor: date, period: str, day: date) -> Decimal:
    """Share of ``period_difference`` (price difference for a whole billing period) for the days
    from ``day`` to the end of the billing period containing it, both included.

    Monthly from 1 April, Essentiel (9,90 €) → Confort (14,90 €) on 16 April: 5,00 € × 15/30
    = 2,50 €.
    """
    start, end = period_bounds(anchor, period, day)
    return prorate(period_difference, start, end, max(day, start), end)
