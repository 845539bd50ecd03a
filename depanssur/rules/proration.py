"""Prorata temporis of a price difference, per day, half-up to the cent.

The amount for the days ``part_start``..``part_end`` of a period is computed by cumulative
rounding: ``round(total × days_to_end / N) − round(total × days_to_start / N)``. Any split of a
period into consecutive parts therefore sums exactly to ``total``, cent for cent.
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
]


def prorate(total, period_start: date, period_end: date, part_start: date, part_end: date):
    """Part of ``total`` (a price for the whole period, inclusive bounds) for the part's days."""
    if part_start < period_start or part_end > period_end or part_start > part_end + ONE_DAY:
        raise ValueError("the part must lie within the period")
    total = Decimal(str(total)) if isinstance(total, float) else Decimal(total)
    days = (period_end - period_start).days + 1
    before = (part_start - period_start).days
    through = (part_end - period_start).days + 1
    return to_money(total * through / days) - to_money(total * before / days)
