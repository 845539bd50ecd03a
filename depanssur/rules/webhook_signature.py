"""Standard Webhooks signatures (https://www.standardwebhooks.com/), verified the safe way.

A delivery carries three headers:

- ``webhook-id``: the delivery id (the idempotency key, identical on every retry);
- ``webhook-timestamp``: Unix seconds of the sending attempt;
- ``webhook-signature``: space-separated ``v1,<base64>`` entries, each the base64 of
  ``HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")`` where ``key`` is the base64-decoded part of a
  ``whsec_...`` secret.

:func:`verify` checks **every** ``v1`` entry against **every** active secret (key rotation on both
sides) with :func:`hmac.compare_digest`, ignores other versions, and accepts the timestamp only
within ``tolerance`` seconds on **either** side of ``now`` (replays and clock skew). It works on the
raw body bytes, before any JSON parsing. Errors carry a stable ``code`` and an English message that
never contains a secret.
"""

import base64
import binascii
import hashlib
import hmac
import re
import secrets as _secrets
from collections.abc import Iterable, Mapping
from typing import NamedTuple

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE = 300
MIN_KEY_BYTES = 24  # Standard Webhooks: keys of 24 to 64 bytes
MAX_ID_LENGTH = 255

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"

# Visible ASCII only: the id is stored, shown and compared; Standard Webhooks ids look like msg_...
_ID_RE = re.compile(r"[\x21-\x7e]{1,%d}" % MAX_ID_LENGTH)
# Canonical Unix seconds: ASCII digits, no sign, no leading zero, no "_" (int() would accept them)
_TIMESTAMP_RE = re.compile(r"0|[1-9][0-9]{0,11}")
_BASE64_RE = re.compile(r"[A-Za-z0-9+/]+={0,2}")

ERROR_CODES = {
    "missing_headers": "webhook-id, webhook-timestamp and webhook-signature are required",
    "bad_id": "webhook-id must be 1 to 255 visible ASCII characters",
    "bad_timestamp": "webhook-timestamp must be a Unix time in seconds (digits only)",
    "stale_timestamp": "webhook-timestamp is too far from the receiver's clock",
    "bad_signature": "no v1 signature matches an active secret",
}


class SignatureError(Exception):
    """Verification failed. ``code`` is one of :data:`ERROR_CODES`; the message names no secret."""

    def __init__(self, code, message=None):
        self.code = code
        self.message = message or ERROR_CODES.get(code, code)
        super().__init__(self.message)


class Verified(NamedTuple):
    """What a successful :func:`verify` vouches for."""

    msg_id: str
    timestamp: int


def parse_secret(secret: str) -> bytes:
    """Key bytes of a ``whsec_<base64>`` secret; ``ValueError`` if it is malformed.

    Standard base64 only (``+/``), padding optional, no whitespace, at least
    :data:`MIN_KEY_BYTES` bytes of key. The message never repeats the secret.
    """
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    encoded = secret[len(SECRET_PREFIX) :]
    if not _BASE64_RE.fullmatch(encoded) or len(encoded.rstrip("=")) % 4 == 1:
        raise ValueError("a webhook secret is whsec_ followed by standard base64")
    unpadded = encoded.rstrip("=")
    try:
        key = base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is whsec_ followed by standard base64") from None
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"a webhook secret holds at least {MIN_KEY_BYTES} bytes of key")
    return key


def generate_secret(nbytes: int = 32) -> str:
    """A new random ``whsec_`` secret of ``nbytes`` bytes of key (not deterministic, on purpose)."""
    if nbytes < MIN_KEY_BYTES:
        raise ValueError(f"a webhook secret holds at least {MIN_KEY_BYTES} bytes of key")
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(nbytes)).decode()


def _signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError("the body to sign is the raw bytes of the request")
    signed = f"{msg_id}.{int(timestamp)}.".encode() + bytes(body)
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of ``body`` for ``webhook-signature``."""
    return f"{SIGNATURE_VERSION},{_signature(parse_secret(secret), msg_id, timestamp, body)}"


def _headers(headers: Mapping) -> dict:
    """The three webhook headers, looked up case-insensitively (first occurrence wins)."""
    wanted = {HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE}
    found = {}
    items = headers.items() if hasattr(headers, "items") else ()
    for name, value in items:
        key = str(name).lower()
        if key in wanted and key not in found:
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            found[key] = value if isinstance(value, str) else None
    return found


def verify(
    secrets: Iterable[str],
    headers: Mapping,
    body: bytes,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE,
) -> Verified:
    """Authenticate a delivery; return ``Verified(msg_id, timestamp)`` or raise SignatureError.

    Checks, in this order: the three headers are present and not empty (``missing_headers``), the id
    is 1-255 visible ASCII characters (``bad_id``), the timestamp is canonical Unix seconds
    (``bad_timestamp``) within ``tolerance`` seconds of ``now`` in either direction
    (``stale_timestamp``), and at least one ``v1`` entry of ``webhook-signature`` matches at least
    one of ``secrets`` (``bad_signature``). Entries of other versions are ignored; malformed
    secrets in ``secrets`` never match (and never break the others).
    """
    found = _headers(headers)
    msg_id = found.get(HEADER_ID)
    timestamp_text = found.get(HEADER_TIMESTAMP)
    signature = found.get(HEADER_SIGNATURE)
    if not msg_id or not timestamp_text or not signature:
        raise SignatureError("missing_headers")
    if not _ID_RE.fullmatch(msg_id):
        raise SignatureError("bad_id")
    if not _TIMESTAMP_RE.fullmatch(timestamp_text):
        raise SignatureError("bad_timestamp")
    timestamp = int(timestamp_text)
    if abs(int(now) - timestamp) > tolerance:
        raise SignatureError("stale_timestamp")
    candidates = []
    for entry in signature.split():
        version, separator, value = entry.partition(",")
        if version == SIGNATURE_VERSION and separator and value:
            candidates.append(value.encode("utf-8", "replace"))
    if not candidates:
        raise SignatureError("bad_signature", "webhook-signature holds no v1 entry")
    matched = False
    for secret in secrets:
        try:
            key = parse_secret(secret)
        except ValueError:
            continue
        expected = _signature(key, msg_id, timestamp, body).encode()
        for candidate in candidates:
            # no early exit: the work done does not depend on which entry matches
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("bad_signature")
    return Verified(msg_id, timestamp)
