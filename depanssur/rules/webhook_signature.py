"""Standard Webhooks signatures (https://www.standardwebhooks.com/), verified the safe way.

``webhook-signature`` holds space-separated ``v1,<base64 HMAC-SHA256("id.timestamp.body")>``
entries; every ``v1`` entry is checked against every active secret (key rotation), in constant
time, and the timestamp must lie within ``tolerance`` seconds on either side of now.
"""

import base64
import binascii
import hashlib
import hmac

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300


class SignatureError(Exception):
    """Verification failed; ``code`` says why (never the secret)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def parse_secret(secret: str) -> bytes:
    """Key bytes of a ``whsec_<base64>`` secret."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is whsec_ followed by base64") from None
    if len(key) < 16:
        raise ValueError("a webhook secret has at least 16 bytes of key")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of ``body``."""
    signed = f"{msg_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(parse_secret(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _header(headers, name):
    if hasattr(headers, "get"):
        value = headers.get(name)
        if value is None:
            value = next((v for k, v in headers.items() if k.lower() == name), None)
        return value
    return None


def verify(secrets, headers, body: bytes, now: int, tolerance: int = DEFAULT_TOLERANCE):
    """Check the request; return ``(msg_id, timestamp)`` or raise :class:`SignatureError`."""
    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signature = _header(headers, "webhook-signature")
    if not msg_id or not timestamp or not signature:
        raise SignatureError("missing_headers", "webhook-id, -timestamp and -signature required")
    if len(msg_id) > 255:
        raise SignatureError("bad_id", "webhook-id is too long")
    try:
        timestamp = int(timestamp)
    except ValueError:
        raise SignatureError("bad_timestamp", "webhook-timestamp is not an integer") from None
    if abs(int(now) - timestamp) > tolerance:
        raise SignatureError("stale_timestamp", "webhook-timestamp is outside the tolerance")
    candidates = []
    for entry in signature.split():
        version, _sep, value = entry.partition(",")
        if version == "v1" and value:
            candidates.append(value.encode())
    if not candidates:
        raise SignatureError("bad_signature", "no v1 signature")
    for secret in secrets:
        try:
            expected = sign(secret, msg_id, timestamp, body)[3:].encode()
        except ValueError:
            continue  # a malformed stored secret never matches
        for candidate in candidates:
            if hmac.compare_digest(expected, candidate):
                return msg_id, timestamp
    raise SignatureError("bad_signature", "no signature matches")
