"""When a change of insured home (risk address) takes effect.

A change takes effect at the start of a billing period (periods anchored on the subscription's
start date, see :func:`periods.period_bounds`). A request received fewer than ``cutoff_days``
days before the next period start takes effect one period later; until then the old home stays
covered. With a cut-off longer than a period (never the case with the default 10 days), the
change waits as many periods as needed, so the effective date is always a period start at least
``cutoff_days`` after the request, and the earliest such period start.

A request made before the subscription's start (``anchor``) may take effect on the start itself.

API: ``effective_date(request_date, anchor, period, cutoff_days=10) -> date``;
``period`` is ``"monthly"`` or ``"yearly"``.
"""

from datetime import date

from .periods import next_period_start

__all__ = ["DEFAULT_CUTOFF_DAYS", "effective_date"]

DEFAULT_CUTOFF_DAYS = 10


def effective_date(
    request_date: date, anchor: date, period: str, cutoff_days: int = DEFAULT_CUTOFF_DAYS
) -> date:
    """First day on which the new home is covered, for a request made on ``request_date``.

    Monthly periods from 1 January, cut-off 10 days: a request on 5 March (27 days before
    1 April) takes effect on 1 April; on 23 March (9 days before) on 1 May.
    """
    if cutoff_days < 0:
        raise ValueError("cutoff_days cannot be negative")
    start = anchor if request_date < anchor else next_period_start(anchor, period, request_date)
    while (start - request_date).days < cutoff_days:
        start = next_period_start(anchor, period, start)
    return start
