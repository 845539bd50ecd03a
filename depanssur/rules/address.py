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

A home address typed by a client is checked before anything is created:
``check_home_address(street, zip_code, city, country_code="FR") -> (clean, errors)`` gives the
stripped values and, by field, ``"missing"``, ``"invalid"`` (control characters, a bad postcode)
or ``"too_long"``. A French postcode is
five ASCII digits (``"²".isdigit()`` is true, and ``\\d`` matches Arabic-Indic digits: neither is
a postcode), not starting with ``00``.
"""

import re
from datetime import date

from .periods import next_period_start

__all__ = ["ADDRESS_FIELD_MAX", "DEFAULT_CUTOFF_DAYS", "check_home_address", "effective_date"]

DEFAULT_CUTOFF_DAYS = 10
ADDRESS_FIELD_MAX = 128
POSTCODE_PATTERNS = {"FR": re.compile(r"(?!00)[0-9]{5}")}
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")  # PostgreSQL refuses NUL in text


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


def check_home_address(street, zip_code, city, country_code="FR"):
    """``(clean, errors)``: the stripped ``street``, ``zip`` and ``city``; the problems by field.

    >>> check_home_address(" 1 quai Saint-Antoine ", "69002", "Lyon")
    ({'street': '1 quai Saint-Antoine', 'zip': '69002', 'city': 'Lyon'}, {})
    >>> check_home_address("", "69²02", "Lyon")[1]
    {'street': 'missing', 'zip': 'invalid'}
    """
    clean = {
        "street": " ".join(str(street or "").split()),
        "zip": str(zip_code or "").strip(),
        "city": " ".join(str(city or "").split()),
    }
    pattern = POSTCODE_PATTERNS.get((country_code or "").upper())
    errors = {}
    for name, value in clean.items():
        if not value:
            errors[name] = "missing"
        elif len(value) > ADDRESS_FIELD_MAX:
            errors[name] = "too_long"
        elif CONTROL_CHARS.search(value) or (
            name == "zip" and pattern and not pattern.fullmatch(value)
        ):
            errors[name] = "invalid"
    return clean, errors
