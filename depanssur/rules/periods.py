"""Calendar helpers: billing periods anchored on a start date, coverage years on an anniversary."""

import calendar
from datetime import date, timedelta

MONTHLY = "monthly"
YEARLY = "yearly"


def add_months(day: date, months: int, anchor_day: int | None = None) -> date:
    """``day`` plus ``months`` months, on ``anchor_day`` (default: ``day.day``) clamped to the
    month's last day: 31 January + 1 month is 28/29 February, and + 2 months is 31 March."""
    anchor_day = anchor_day or day.day
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    month += 1
    return date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


def period_months(period: str) -> int:
    if period == MONTHLY:
        return 1
    if period == YEARLY:
        return 12
    raise ValueError(f"unknown billing period {period!r}")


def period_bounds(anchor: date, period: str, day: date) -> tuple[date, date]:
    """(first day, last day) of the billing period containing ``day``.

    Periods start on ``anchor`` and then every month (or year) on the anchor's day of month,
    clamped to shorter months. A day before ``anchor`` belongs to the first period.
    """
    months = period_months(period)
    index = 0
    if day >= anchor:
        elapsed = (day.year - anchor.year) * 12 + day.month - anchor.month
        index = max(elapsed // months, 0)
        while add_months(anchor, (index + 1) * months) <= day:
            index += 1
        while index > 0 and add_months(anchor, index * months) > day:
            index -= 1
    start = add_months(anchor, index * months)
    end = add_months(anchor, (index + 1) * months) - timedelta(days=1)
    return start, end


def next_period_start(anchor: date, period: str, day: date) -> date:
    """First day of the billing period after the one containing ``day``."""
    return period_bounds(anchor, period, day)[1] + timedelta(days=1)


def coverage_year_bounds(start: date, anniversary: date | None, day: date) -> tuple[date, date]:
    """(first day, last day) of the coverage year containing ``day``.

    Coverage years begin every year on the anniversary's month and day (29 February → 28 February
    in other years); the first one begins on ``start``. A day before ``start`` belongs to the first.
    """
    anniversary = anniversary or start
    if anniversary > start and day < anniversary:
        return start, anniversary - timedelta(days=1)
    year_start, year_end = period_bounds(anniversary, YEARLY, max(day, start))
    return max(year_start, start), year_end
