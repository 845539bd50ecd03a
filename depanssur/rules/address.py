"""When a change of insured home (risk address) takes effect.

A change takes effect at the start of a billing period. A request received fewer than
``cutoff_days`` days before the next period start takes effect one period later; until then the
old home stays covered.
"""

from datetime import date

from .periods import next_period_start

DEFAULT_CUTOFF_DAYS = 10


def effective_date(
    request_date: date, anchor: date, period: str, cutoff_days: int = DEFAULT_CUTOFF_DAYS
) -> date:
    """First day on which the new home is covered, for a request made on ``request_date``."""
    if cutoff_days < 0:
        raise ValueError("cutoff_days cannot be negative")
    start = next_period_start(anchor, period, request_date)
    if (start - request_date).days < cutoff_days:
        start = next_period_start(anchor, period, start)
    return start
