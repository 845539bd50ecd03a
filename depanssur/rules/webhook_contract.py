"""The Depanssur webhook payloads: the event catalogue, the envelope and one JSON Schema per event.

Envelope (``depanssur/data/webhook_schemas/envelope.json``)::

    {"type": "dossier.created", "occurred_at": "2026-03-01T09:00:00Z", "data": {...}}

- ``type``: the event type. Known types are :data:`EVENT_TYPES`; an unknown but well-formed type
  passes (``known`` is False): it is stored and ignored later, never refused, so the sender can
  ship new events before Odoo handles them.
- ``occurred_at``: RFC 3339 date-time with a time zone, when the fact happened in Depanssur's tool;
  returned as an aware UTC datetime. It orders the events about one claim file.
- ``data``: validated against ``<type>.json``. Schemas are strict inside ``data``
  (``additionalProperties: false``: a typo is a 400 at once, never a silently lost field).
- There is no ``id`` member: the delivery id is the ``webhook-id`` header (signed). Other
  top-level members are allowed and ignored (forward compatibility of the envelope only).

Schemas are JSON Schema draft 2020-12, checked with :class:`jsonschema.Draft202012Validator`
extended in three ways (all stricter, never looser, than a generic validator):

- ``date-time`` / ``date`` formats are checked here, strictly (RFC 3339 ``full-date`` and
  ``date-time`` with an offset), whatever optional format packages are installed;
- ``pattern`` anchors ``$`` at the very end (ECMA 262), where Python's ``re`` also accepts a
  trailing newline;
- the custom keyword ``x-max-decimals`` limits the decimals of an amount given as a JSON number
  (generic validators ignore it).

On top of the schemas, a few rules JSON Schema cannot say: no NaN/Infinity, no NUL character or
lone surrogate anywhere (the payload is stored as PostgreSQL ``jsonb``), bounded nesting, the cost
``total`` equals labour + parts + travel, the incident date is not after the event.
"""

import json
import math
import re
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import NamedTuple

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from .money import to_money

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "data" / "webhook_schemas"
ENVELOPE = "envelope"
EVENT_TYPES = (
    "dossier.created",
    "dossier.updated",
    "dossier.status_changed",
    "intervention.completed",
    "dossier.closed",
    "dossier.cancelled",
    "nps.responded",
    "payment.failed",
    "payment.succeeded",
)
# about one claim file (data.external_id), applied in occurred_at order per claim file
DOSSIER_EVENT_TYPES = tuple(t for t in EVENT_TYPES if not t.startswith("payment."))
# about one subscription (data.subscription)
PAYMENT_EVENT_TYPES = ("payment.failed", "payment.succeeded")
CATEGORY_CODES = ("plumbing", "electricity", "locksmith", "heating", "appliances")
CHANNELS = ("phone", "web", "app", "email")
DOSSIER_STATUSES = ("declared", "qualified", "scheduled", "done", "closed", "cancelled", "refused")
CURRENCY = "EUR"
AMOUNT_DECIMALS = 2
MAX_DEPTH = 32
MAX_ERRORS = 10

# The documented example of every event (docs/webhooks.md shows exactly these; tests check both).
EXAMPLES = {
    "dossier.created": {
        "type": "dossier.created",
        "occurred_at": "2026-03-01T09:00:00Z",
        "data": {
            "external_id": "DEP-10234",
            "subscription": "ABO/2026/00001",
            "category": "plumbing",
            "incident_date": "2026-03-01",
            "declared_at": "2026-03-01T08:55:00Z",
            "channel": "app",
            "description": "Fuite d'eau sous l'évier de la cuisine",
            "estimated_cost": "180.00",
        },
    },
    "dossier.updated": {
        "type": "dossier.updated",
        "occurred_at": "2026-03-01T09:30:00Z",
        "data": {
            "external_id": "DEP-10234",
            "description": "Fuite sous l'évier, joint et siphon à changer",
            "estimated_cost": "220.00",
        },
    },
    "dossier.status_changed": {
        "type": "dossier.status_changed",
        "occurred_at": "2026-03-01T10:00:00Z",
        "data": {
            "external_id": "DEP-10234",
            "status": "scheduled",
            "scheduled_at": "2026-03-02T08:00:00+01:00",
        },
    },
    "intervention.completed": {
        "type": "intervention.completed",
        "occurred_at": "2026-03-02T16:00:00Z",
        "data": {
            "external_id": "DEP-10234",
            "completed_on": "2026-03-02",
            "costs": {"labour": "150.00", "parts": "45.90", "travel": "35.00", "total": "230.90"},
        },
    },
    "dossier.closed": {
        "type": "dossier.closed",
        "occurred_at": "2026-03-05T09:00:00Z",
        "data": {"external_id": "DEP-10234"},
    },
    "dossier.cancelled": {
        "type": "dossier.cancelled",
        "occurred_at": "2026-03-01T11:00:00Z",
        "data": {"external_id": "DEP-10234", "reason": "Le client a réparé lui-même"},
    },
    "nps.responded": {
        "type": "nps.responded",
        "occurred_at": "2026-03-03T09:00:00Z",
        "data": {"external_id": "DEP-10234", "score": 9, "comment": "Très rapide, merci"},
    },
    "payment.failed": {
        "type": "payment.failed",
        "occurred_at": "2026-03-05T06:00:00Z",
        "data": {
            "subscription": "ABO/2026/00001",
            "invoice": "INV/2026/00042",
            "amount": "9.90",
            "currency": "EUR",
            "provider_reference": "pi_3OqYd2",
            "reason": "insufficient_funds",
        },
    },
    "payment.succeeded": {
        "type": "payment.succeeded",
        "occurred_at": "2026-03-06T06:00:00Z",
        "data": {
            "subscription": "ABO/2026/00001",
            "invoice": "INV/2026/00042",
            "amount": "9.90",
            "currency": "EUR",
            "provider_reference": "pi_3OqZf7",
        },
    },
}


class PayloadError(ValueError):
    """The payload breaks the contract.

    ``path``: where, dotted from the envelope (``data.score``; for a missing or unexpected field,
    the object that should or should not hold it, e.g. ``data``; ``""`` for the whole payload).
    ``message``: English, starts with the path and names the field. ``code``: ``invalid_payload``
    (schema or rule) or ``malformed_json`` (:func:`parse_json`). ``errors``: up to
    :data:`MAX_ERRORS` ``{"path", "message"}`` dicts, the first being this one.
    """

    def __init__(self, message, path="", code="invalid_payload", errors=None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.code = code
        self.errors = errors or [{"path": path, "message": message}]


class ValidatedEvent(NamedTuple):
    """A payload that honours the contract; ``known`` is False for a type not in EVENT_TYPES."""

    event_type: str
    occurred_at: datetime
    data: dict
    known: bool


# ----------------------------------------------------------------------------------------------
# Dates
# ----------------------------------------------------------------------------------------------


def _short(value):
    """A value as JSON, cut to 60 characters, for messages."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATETIME_RE = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)


def parse_date(value: str) -> date:
    """RFC 3339 ``full-date`` (``YYYY-MM-DD``, a real calendar day) → ``date``."""
    match = _DATE_RE.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise PayloadError(f"{_short(value)} is not a date YYYY-MM-DD")
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        raise PayloadError(f"{_short(value)} is not a calendar date") from None


def parse_timestamp(value: str) -> datetime:
    """RFC 3339 ``date-time`` with a time zone (``Z`` or ``±hh:mm``) → aware UTC datetime.

    ``T`` separator and seconds are required; fractions beyond microseconds are truncated.
    Raises :class:`PayloadError` (a ``ValueError``).
    """
    match = _DATETIME_RE.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise PayloadError(
            f"{_short(value)} is not an RFC 3339 date-time with a time zone, "
            "e.g. 2026-03-01T09:12:00Z"
        )
    day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    try:
        offset = timedelta(0)
        if not zulu:
            if int(off_h) > 23 or int(off_m) > 59:
                raise ValueError("offset out of range")
            offset = (1 if sign == "+" else -1) * timedelta(hours=int(off_h), minutes=int(off_m))
        parsed = datetime.combine(
            parse_date(day),
            time(int(hour), int(minute), int(second), int((fraction or "0")[:6].ljust(6, "0"))),
            tzinfo=timezone(offset),
        )
        return parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise PayloadError(f"{_short(value)} is not a valid date-time") from None


def _is_date(value):
    if isinstance(value, str):
        parse_date(value)
    return True


def _is_datetime(value):
    if isinstance(value, str):
        parse_timestamp(value)
    return True


_FORMATS = FormatChecker(formats=())
_FORMATS.checks("date", raises=ValueError)(_is_date)
_FORMATS.checks("date-time", raises=ValueError)(_is_datetime)


# ----------------------------------------------------------------------------------------------
# Amounts
# ----------------------------------------------------------------------------------------------


def parse_amount(value) -> Decimal:
    """An amount of the contract (JSON number or decimal string, euros) → ``Decimal`` to the cent.

    The value is expected to be valid already (at most two decimals); it is quantized half-up.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise PayloadError(f"{value!r} is not an amount")
    try:
        amount = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise PayloadError(f"{value!r} is not an amount") from None
    if not amount.is_finite():
        raise PayloadError(f"{value!r} is not an amount")
    return to_money(amount)


def _decimals(value) -> int:
    exponent = Decimal(repr(value) if isinstance(value, float) else str(value)).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 99


# ----------------------------------------------------------------------------------------------
# The validator: Draft 2020-12, strict formats, ECMA end anchor, x-max-decimals
# ----------------------------------------------------------------------------------------------


@cache
def _python_regex(pattern):
    # ECMA 262 "$" (no multiline) matches only at the very end; Python's also before a final "\n"
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not _python_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _max_decimals(validator, places, instance, schema):
    if not validator.is_type(instance, "number"):
        return
    if isinstance(instance, float) and not math.isfinite(instance):
        yield ValidationError(f"{instance!r} is not a finite number")
    elif _decimals(instance) > places:
        yield ValidationError(f"{instance!r} has more than {places} decimals")


_Validator = validators.extend(
    Draft202012Validator, {"pattern": _pattern, "x-max-decimals": _max_decimals}
)


def schema_path(name: str) -> Path:
    """The file of the schema ``name`` (an event type or ``envelope``)."""
    return SCHEMA_DIR / f"{name}.json"


@cache
def _schema_text(name):
    return schema_path(name).read_text(encoding="utf-8")


def load_schema(name: str) -> dict:
    """The JSON Schema ``name`` (an event type or ``envelope``), as published (a fresh copy)."""
    return json.loads(_schema_text(name))


@cache
def _validator(name):
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    return _Validator(schema, format_checker=_FORMATS)


# ----------------------------------------------------------------------------------------------
# Error messages that say which field is wrong
# ----------------------------------------------------------------------------------------------

_JSON_TYPES = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    type(None): "null",
    dict: "an object",
    list: "an array",
}
_EXPECTED = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "object": "an object",
    "array": "an array",
    "boolean": "a boolean",
    "null": "null",
}
_KEYWORD_ORDER = ("required", "additionalProperties", "type", "enum", "const", "format")


def _join(parts, prefix):
    path = prefix
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else f"{path}.{part}".lstrip(".")
    return path


def _describe(error):
    """English text for one jsonschema error, naming the field (without the path prefix)."""
    keyword, value, schema = error.validator, error.instance, error.schema
    hint = f" ({schema['description']})" if isinstance(schema.get("description"), str) else ""
    if keyword == "required":
        missing = [name for name in error.validator_value if name not in value]
        return "missing required field " + ", ".join(f'"{name}"' for name in missing)
    if keyword == "additionalProperties":
        known = set(schema.get("properties", {}))
        extra = sorted(name for name in value if name not in known)
        return "unexpected field " + ", ".join(f'"{name}"' for name in extra)
    if keyword == "type":
        expected = error.validator_value
        expected = expected if isinstance(expected, list) else [expected]
        got = _JSON_TYPES.get(type(value), type(value).__name__)
        return f"expected {' or '.join(_EXPECTED[e] for e in expected)}, got {got}{hint}"
    if keyword == "enum":
        return f"{_short(value)} is not one of {', '.join(map(str, error.validator_value))}"
    if keyword == "const":
        return f"{_short(value)} is not accepted, only {_short(error.validator_value)}"
    if keyword == "format":
        return str(error.cause or error.message)
    if keyword in ("minimum", "exclusiveMinimum"):
        return f"{_short(value)} is below the minimum {error.validator_value}{hint}"
    if keyword in ("maximum", "exclusiveMaximum"):
        return f"{_short(value)} is above the maximum {error.validator_value}{hint}"
    if keyword == "minLength":
        return "must not be empty" if error.validator_value == 1 else error.message
    if keyword == "maxLength":
        return f"longer than {error.validator_value} characters"
    if keyword == "minProperties":
        return "nothing to change: give at least one field besides external_id"
    if keyword in ("pattern", "x-max-decimals"):
        return f"{_short(value)} is not valid{hint}"
    return error.message


def _schema_errors(name, instance, prefix):
    errors = list(_validator(name).iter_errors(instance))

    def order(error):
        keyword = error.validator
        rank = _KEYWORD_ORDER.index(keyword) if keyword in _KEYWORD_ORDER else 99
        return (len(error.path), [str(p) for p in error.path], rank)

    result = []
    for error in sorted(errors, key=order):
        path = _join(error.path, prefix)
        entry = {"path": path, "message": f"{path or 'payload'}: {_describe(error)}"}
        if entry not in result:  # one "required" error per missing field, same message
            result.append(entry)
    return result


def _raise(errors):
    first = errors[0]
    raise PayloadError(first["message"], first["path"], errors=errors[:MAX_ERRORS])


# ----------------------------------------------------------------------------------------------
# Storable JSON (PostgreSQL jsonb) and JSON parsing
# ----------------------------------------------------------------------------------------------


def _storable_errors(value):
    """NaN/Infinity, NUL, lone surrogates and deep nesting: what jsonb or Python refuse."""
    stack = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        where = path or "payload"
        if depth > MAX_DEPTH:
            return [{"path": path, "message": f"{where}: nested more than {MAX_DEPTH} levels"}]
        if isinstance(item, float) and not math.isfinite(item):
            return [{"path": path, "message": f"{where}: NaN and Infinity are not JSON numbers"}]
        texts = [item] if isinstance(item, str) else []
        if isinstance(item, dict):
            texts = list(item)
            stack.extend((v, _join([k], path), depth + 1) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, _join([i], path), depth + 1) for i, v in enumerate(item))
        for text in texts:
            try:
                text.encode("utf-8")
            except (UnicodeEncodeError, AttributeError):
                return [{"path": path, "message": f"{where}: invalid Unicode (lone surrogate)"}]
            if "\x00" in text:
                return [{"path": path, "message": f"{where}: the NUL character is not allowed"}]
    return []


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def parse_json(body: bytes):
    """Parse a request body strictly (UTF-8, RFC 8259, I-JSON): raise ``PayloadError`` with
    ``code="malformed_json"`` on invalid UTF-8 or JSON, NaN/Infinity, duplicate keys, or nesting
    deeper than :data:`MAX_DEPTH`."""
    try:
        text = bytes(body).decode("utf-8")
        value = json.loads(text, parse_constant=_no_constant, object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError:
        raise PayloadError("payload: the body is not UTF-8", code="malformed_json") from None
    except RecursionError:
        raise PayloadError(
            f"payload: nested more than {MAX_DEPTH} levels", code="malformed_json"
        ) from None
    except ValueError as error:
        raise PayloadError(f"payload: not valid JSON: {error}", code="malformed_json") from None
    errors = _storable_errors(value)
    if errors:
        raise PayloadError(errors[0]["message"], errors[0]["path"], code="malformed_json")
    return value


# ----------------------------------------------------------------------------------------------
# Rules beyond the schemas
# ----------------------------------------------------------------------------------------------


def _rule_errors(event_type, occurred_at, data):
    errors = []
    costs = data.get("costs")
    if event_type == "intervention.completed" and "total" in costs:
        parts = sum(parse_amount(costs[name]) for name in ("labour", "parts", "travel"))
        if parse_amount(costs["total"]) != parts:
            errors.append(
                {
                    "path": "data.costs.total",
                    "message": f"data.costs.total: {_short(costs['total'])} is not "
                    f"labour + parts + travel = {parts}",
                }
            )
    incident = data.get("incident_date")
    if incident and parse_date(incident) > (occurred_at + timedelta(days=1)).date():
        errors.append(
            {
                "path": "data.incident_date",
                "message": f"data.incident_date: {incident} is after the event (occurred_at)",
            }
        )
    return errors


def validate_payload(payload, now: datetime | None = None) -> ValidatedEvent:
    """Check a parsed payload against the contract.

    Returns ``ValidatedEvent(event_type, occurred_at, data, known)``, ``occurred_at`` being an
    aware UTC datetime. An unknown but well-formed type is returned with ``known=False`` (its
    ``data`` is only required to be an object). When ``now`` (aware) is given, an ``occurred_at``
    more than 5 minutes after it is refused (it would hide every later event of its claim file);
    a naive ``now`` is taken as UTC.
    Raises :class:`PayloadError` naming the first faulty field.
    """
    if not isinstance(payload, dict):
        raise PayloadError("payload: a JSON object is expected")
    errors = _storable_errors(payload) or _schema_errors(ENVELOPE, payload, "")
    if errors:
        _raise(errors)
    occurred_at = parse_timestamp(payload["occurred_at"])
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    if now is not None and occurred_at > now + timedelta(minutes=5):
        raise PayloadError("occurred_at: in the future", "occurred_at")
    event_type, data = payload["type"], payload["data"]
    known = event_type in EVENT_TYPES
    if known:
        errors = _schema_errors(event_type, data, "data") or _rule_errors(
            event_type, occurred_at, data
        )
        if errors:
            _raise(errors)
    return ValidatedEvent(event_type, occurred_at, data, known)
