"""The Depanssur webhook payloads: envelope and one JSON Schema per event type.

Envelope: ``{"type": "dossier.created", "occurred_at": "<RFC 3339>", "data": {...}}``; the
delivery id is the ``webhook-id`` header. Schemas live in ``depanssur/data/webhook_schemas/`` and
are the published contract (docs/webhooks.md). Unknown types pass (stored and ignored later).
"""

import json
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "data" / "webhook_schemas"
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


class PayloadError(ValueError):
    """The payload breaks the contract; ``path`` locates the faulty field (``data.score``)."""

    def __init__(self, message, path=""):
        super().__init__(message)
        self.message = message
        self.path = path


@cache
def _validator(name):
    schema = json.loads((SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=FormatChecker())


def _check(name, instance, prefix):
    errors = sorted(_validator(name).iter_errors(instance), key=lambda e: list(e.path))
    if errors:
        error = errors[0]
        path = ".".join([prefix, *(str(p) for p in error.path)]).strip(".")
        raise PayloadError(f"{path or 'payload'}: {error.message}", path)


def parse_timestamp(value: str) -> datetime:
    """RFC 3339 → aware UTC datetime."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise PayloadError("occurred_at: a time zone is required", "occurred_at")
    return parsed.astimezone(timezone.utc)


def validate_payload(payload):
    """Return ``(event_type, occurred_at, data, known)`` or raise :class:`PayloadError`."""
    if not isinstance(payload, dict):
        raise PayloadError("payload: a JSON object is expected")
    _check("envelope", payload, "")
    try:
        occurred_at = parse_timestamp(payload["occurred_at"])
    except ValueError:
        raise PayloadError("occurred_at: not an RFC 3339 date-time", "occurred_at") from None
    event_type = payload["type"]
    known = event_type in EVENT_TYPES
    if known:
        _check(event_type, payload["data"], "data")
    return event_type, occurred_at, payload["data"], known
