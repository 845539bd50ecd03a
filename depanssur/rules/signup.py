"""What the answers of a sign-up (web form or phone sale) must look like before anything is created.

Only the shape of each answer is decided here (present, not too long, no control characters, ASCII
digits where digits are expected); whether an email or a mobile number is valid, or a plan exists,
is for the model (Odoo's email and phone helpers, the database).

``"²".isdigit()`` and ``"٣".isdigit()`` are true in Python: a digit field accepts ASCII digits only.

API: ``clean_text(value) -> str``; ``ascii_int(value) -> int | None``; ``is_zip(value) -> bool``;
``check(values, required) -> {field: code}`` with the codes ``required``, ``too_long``,
``invalid_chars`` and ``zip``.

The right of withdrawal (Code de la consommation, art. L221-18 and L221-25): a consumer who
subscribes at a distance (web, phone) may withdraw within 14 days of the day the contract is
concluded, without a reason. The service may start before that period ends only at the consumer's
express request; otherwise nothing starts before the day after it ends (the 15th day).
``withdrawal_deadline(concluded_on) -> date`` is the last day to withdraw;
``earliest_start(concluded_on, express_request) -> date`` the first day coverage may run.
"""

import re
from datetime import timedelta

__all__ = [
    "MAX_LENGTHS",
    "WITHDRAWAL_DAYS",
    "ZIP_FIELDS",
    "ascii_int",
    "check",
    "clean_text",
    "earliest_start",
    "is_zip",
    "withdrawal_deadline",
]

WITHDRAWAL_DAYS = 14  # Code de la consommation, art. L221-18

# the longest answer accepted per field (an email address is at most 254 characters, RFC 5321)
MAX_LENGTHS = {
    "civility": 8,
    "first_name": 100,
    "last_name": 100,
    "email": 254,
    "mobile": 32,
    "street": 200,
    "zip": 5,
    "city": 100,
    "billing_street": 200,
    "billing_zip": 5,
    "billing_city": 100,
}
ZIP_FIELDS = ("zip", "billing_zip")
_ZIP = re.compile(r"[0-9]{5}")
_INT = re.compile(r"[0-9]{1,9}")  # below 2**31: a database id
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_text(value):
    """``value`` as a stripped string ('' for None or a non-string)."""
    return value.strip() if isinstance(value, str) else ""


def ascii_int(value):
    """The positive integer written in ASCII digits in ``value`` (at most 9), else None."""
    value = clean_text(value)
    return int(value) if _INT.fullmatch(value) and int(value) > 0 else None


def is_zip(value):
    """A French postcode: exactly five ASCII digits."""
    return bool(_ZIP.fullmatch(clean_text(value)))


def check(values, required):
    """The error code of each bad answer of ``values`` (a dict of strings).

    ``required`` names the fields that must not be empty; every present field is checked for its
    length and control characters, and zip codes for their five digits.
    """
    errors = {}
    for name, limit in MAX_LENGTHS.items():
        value = clean_text(values.get(name))
        if not value:
            if name in required:
                errors[name] = "required"
            continue
        if _CONTROL.search(value):
            errors[name] = "invalid_chars"
        elif name in ZIP_FIELDS and not is_zip(value):
            errors[name] = "zip"
        elif len(value) > limit:
            errors[name] = "too_long"
    return errors


def withdrawal_deadline(concluded_on):
    """The last day the consumer may withdraw from a contract concluded on ``concluded_on``."""
    return concluded_on + timedelta(days=WITHDRAWAL_DAYS)


def earliest_start(concluded_on, express_request):
    """The first day the subscription (its waiting period, then its coverage) may start.

    The day of the conclusion at the consumer's express request to start before the end of the
    withdrawal period; else the day after that period ends (the 15th day after the conclusion).
    """
    if express_request:
        return concluded_on
    return withdrawal_deadline(concluded_on) + timedelta(days=1)
