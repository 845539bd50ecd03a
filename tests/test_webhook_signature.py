"""Standard Webhooks signatures, checked against the `standardwebhooks` library as a peer."""

import base64
import hmac
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from depanssur.rules import webhook_signature as ws
from depanssur.rules.webhook_signature import SignatureError, parse_secret, sign, verify

# Known-answer vector of the Standard Webhooks reference tests (STYLE.md)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG, TS, BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
OTHER = "whsec_" + base64.b64encode(b"another secret key, 32 bytes!!!!").decode()
THIRD = "whsec_" + base64.b64encode(bytes(range(40))).decode()


def headers(signature, msg_id=MSG, ts=TS):
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


def error_of(secrets, hdrs, body=BODY, now=TS, **kwargs):
    with pytest.raises(SignatureError) as error:
        verify(secrets, hdrs, body, now=now, **kwargs)
    return error.value


def when(ts):
    return datetime.fromtimestamp(ts, tz=timezone.utc)


# --- known answer ------------------------------------------------------------------------------


def test_known_answer_vector():
    assert sign(SECRET, MSG, TS, BODY) == EXPECTED
    assert verify([SECRET], headers(EXPECTED), BODY, now=TS) == (MSG, TS)
    result = verify([SECRET], headers(EXPECTED), BODY, now=TS)
    assert (result.msg_id, result.timestamp) == (MSG, TS)
    # the peer library agrees on the vector, so the vector is what the standard says
    assert Webhook(SECRET).sign(MSG, when(TS), BODY.decode()) == EXPECTED


def test_known_answer_fails_with_any_other_input():
    assert sign(SECRET, MSG, TS + 1, BODY) != EXPECTED
    assert sign(SECRET, MSG + "x", TS, BODY) != EXPECTED
    assert sign(SECRET, MSG, TS, BODY + b" ") != EXPECTED
    assert sign(OTHER, MSG, TS, BODY) != EXPECTED


# --- secrets -----------------------------------------------------------------------------------


def test_parse_secret():
    assert parse_secret(SECRET) == base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    assert len(parse_secret(SECRET)) == 24
    assert parse_secret(THIRD) == bytes(range(40))
    # padding is optional (some generators drop it), the key is the same
    assert parse_secret(THIRD.rstrip("=")) == bytes(range(40))


@pytest.mark.parametrize(
    "secret",
    [
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # no prefix
        "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_",
        "whsec_!!!",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",  # pasted with a newline
        " whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_MfKQ9r8G KYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS_",  # url-safe alphabet
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwa",  # impossible base64 length
        "whsec_" + base64.b64encode(b"k" * 23).decode(),  # too short a key
        None,
        b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ],
)
def test_parse_secret_rejects_malformed(secret):
    with pytest.raises(ValueError) as error:
        parse_secret(secret)
    if isinstance(secret, str) and len(secret) > 12:
        assert secret.strip() not in str(error.value)


def test_generate_secret():
    first, second = ws.generate_secret(), ws.generate_secret()
    assert first != second
    assert len(parse_secret(first)) == 32
    with pytest.raises(ValueError):
        ws.generate_secret(8)


def test_sign_wants_bytes():
    with pytest.raises(TypeError):
        sign(SECRET, MSG, TS, BODY.decode())
    assert sign(SECRET, MSG, TS, bytearray(BODY)) == EXPECTED


# --- rotation ----------------------------------------------------------------------------------


def test_rotation_several_secrets():
    theirs = sign(OTHER, MSG, TS, BODY)
    # the receiver holds several active secrets: any of them may have signed
    assert verify([SECRET, OTHER], headers(theirs), BODY, now=TS) == (MSG, TS)
    assert verify([OTHER, SECRET], headers(EXPECTED), BODY, now=TS) == (MSG, TS)
    assert verify([THIRD, OTHER], headers(theirs), BODY, now=TS) == (MSG, TS)
    # ... but one it does not hold never verifies
    assert error_of([SECRET, THIRD], headers(theirs)).code == "bad_signature"


@pytest.mark.parametrize("position", [0, 1, 2])
def test_rotation_several_signatures_every_entry_counts(position):
    """The matching entry may be first, middle or last (a parser keeping only one would fail)."""
    entries = [sign(OTHER, MSG, TS, BODY), sign(THIRD, MSG, TS, BODY)]
    entries.insert(position, EXPECTED)
    assert verify([SECRET], headers(" ".join(entries)), BODY, now=TS) == (MSG, TS)


def test_other_versions_are_ignored():
    digest = EXPECTED.split(",", 1)[1]
    # a v2 entry carrying a valid digest is not a v1 signature
    assert error_of([SECRET], headers(f"v2,{digest}")).code == "bad_signature"
    assert error_of([SECRET], headers(f"v1a,{digest} v1,")).code == "bad_signature"
    assert verify([SECRET], headers(f"v2,whatever v1a,{digest} {EXPECTED}"), BODY, now=TS)
    # extra whitespace between entries is tolerated
    assert verify([SECRET], headers(f"  v2,zz \t {EXPECTED}  "), BODY, now=TS)


def test_malformed_or_missing_secrets_never_match():
    assert verify(["whsec_bad", "", SECRET], headers(EXPECTED), BODY, now=TS) == (MSG, TS)
    assert error_of([], headers(EXPECTED)).code == "bad_signature"
    assert error_of(["whsec_bad"], headers(EXPECTED)).code == "bad_signature"


def test_messages_never_hold_a_secret():
    secrets = [SECRET, OTHER, THIRD]
    failures = [
        error_of(secrets, headers(sign(SECRET, MSG, TS, b"other body"))),
        error_of(secrets, headers("v2,x")),
        error_of(secrets, headers(EXPECTED), now=TS + 10_000),
        error_of(secrets, {}),
    ]
    for failure in failures:
        text = f"{failure} {failure!r} {failure.message} {failure.args}"
        for secret in secrets:
            assert secret not in text
            assert secret.removeprefix("whsec_") not in text
        assert failure.code in ws.ERROR_CODES


# --- timestamp tolerance -----------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_tolerance_accepts_both_sides(offset):
    assert verify([SECRET], headers(EXPECTED), BODY, now=TS + offset) == (MSG, TS)


@pytest.mark.parametrize("offset", [-301, 301, -86_400, 86_400])
def test_tolerance_refuses_old_and_future(offset):
    # now - TS = offset: positive is a replay of an old delivery, negative comes from the future
    assert error_of([SECRET], headers(EXPECTED), now=TS + offset).code == "stale_timestamp"


def test_tolerance_is_a_parameter():
    assert verify([SECRET], headers(EXPECTED), BODY, now=TS + 600, tolerance=600)
    assert error_of([SECRET], headers(EXPECTED), now=TS - 61, tolerance=60).code == (
        "stale_timestamp"
    )


# --- tampering and malformed headers -----------------------------------------------------------


def test_tampered_body_id_or_timestamp():
    assert error_of([SECRET], headers(EXPECTED), body=BODY + b"\n").code == "bad_signature"
    tampered = BODY.replace(b"2432232314", b"2432232315")
    assert error_of([SECRET], headers(EXPECTED), body=tampered).code == "bad_signature"
    assert error_of([SECRET], headers(EXPECTED, msg_id="msg_other")).code == "bad_signature"
    assert error_of([SECRET], headers(EXPECTED, ts=TS + 1), now=TS).code == "bad_signature"
    digest = EXPECTED.split(",", 1)[1]
    flipped = ("h" if digest[0] != "h" else "i") + digest[1:]
    assert error_of([SECRET], headers(f"v1,{flipped}")).code == "bad_signature"


@pytest.mark.parametrize(
    "hdrs",
    [
        {},
        {"webhook-id": MSG, "webhook-timestamp": str(TS)},
        {"webhook-id": MSG, "webhook-signature": EXPECTED},
        {"webhook-timestamp": str(TS), "webhook-signature": EXPECTED},
        headers(""),
        headers(EXPECTED, msg_id=""),
        headers(EXPECTED, ts=""),
        {"webhook-id": None, "webhook-timestamp": str(TS), "webhook-signature": EXPECTED},
    ],
)
def test_missing_headers(hdrs):
    assert error_of([SECRET], hdrs).code == "missing_headers"


@pytest.mark.parametrize(
    "mapping",
    [
        {"Webhook-Id": MSG, "Webhook-Timestamp": str(TS), "Webhook-Signature": EXPECTED},
        {"WEBHOOK-ID": MSG, "webhook-TIMESTAMP": str(TS), "Webhook-signature": EXPECTED},
        CaseInsensitiveDict(headers(EXPECTED)),
        {"content-type": "application/json", **headers(EXPECTED)},
    ],
)
def test_header_names_are_case_insensitive(mapping):
    assert verify([SECRET], mapping, BODY, now=TS) == (MSG, TS)


@pytest.mark.parametrize(
    "stamp",
    [
        "soon",
        "1614265330.0",
        "-1614265330",
        "+1614265330",
        "1_614_265_330",
        " 1614265330",
        "01614265330",
        "١٦١٤٢٦٥٣٣٠",  # Arabic-Indic digits: int() would accept them
        "1e9",
        "99999999999999999999",
    ],
)
def test_bad_timestamp(stamp):
    assert error_of([SECRET], headers(EXPECTED, ts=stamp)).code == "bad_timestamp"


@pytest.mark.parametrize("msg_id", ["a" * 256, "msg with space", "msg_\x00", "msg_é", "msg\n"])
def test_bad_id(msg_id):
    assert error_of([SECRET], headers(EXPECTED, msg_id=msg_id)).code == "bad_id"


def test_longest_id_is_accepted():
    msg_id = "m" * ws.MAX_ID_LENGTH
    signature = sign(SECRET, msg_id, TS, BODY)
    assert verify([SECRET], headers(signature, msg_id=msg_id), BODY, now=TS) == (msg_id, TS)


# --- the peer library ----------------------------------------------------------------------------


def test_peer_signs_we_verify_and_we_sign_peer_verifies():
    now = int(time.time())
    body = '{"type": "nps.responded", "data": {"comment": "Très bien ✓"}}'
    peer = Webhook(OTHER).sign("msg_peer", when(now), body)
    assert verify([SECRET, OTHER], headers(peer, "msg_peer", now), body.encode(), now=now)
    ours = sign(OTHER, "msg_ours", now, body.encode())
    assert Webhook(OTHER).verify(body.encode(), headers(ours, "msg_ours", now)) == {
        "type": "nps.responded",
        "data": {"comment": "Très bien ✓"},
    }
    # and the peer refuses what we refuse: a signature by another secret
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.encode(), headers(ours, "msg_ours", now))


keys = st.binary(min_size=ws.MIN_KEY_BYTES, max_size=64)
ids = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=64)


@settings(max_examples=150)
@given(key=keys, msg_id=ids, body=st.text(max_size=400), stamp=st.integers(0, 2**33))
def test_property_peer_signature_verifies(key, msg_id, body, stamp):
    secret = "whsec_" + base64.b64encode(key).decode()
    peer = Webhook(secret).sign(msg_id, when(stamp), body)
    raw = body.encode()
    assert sign(secret, msg_id, stamp, raw) == peer
    assert verify([secret], headers(peer, msg_id, stamp), raw, now=stamp) == (msg_id, stamp)


@settings(max_examples=150)
@given(
    key=keys,
    body=st.text(min_size=1, max_size=400),
    index=st.integers(min_value=0),
    delta=st.integers(1, 255),
)
def test_property_any_single_byte_change_fails(key, body, index, delta):
    secret = "whsec_" + base64.b64encode(key).decode()
    peer = Webhook(secret).sign(MSG, when(TS), body)
    raw = body.encode()
    position = index % len(raw)
    tampered = raw[:position] + bytes([(raw[position] + delta) % 256]) + raw[position + 1 :]
    assert tampered != raw
    with pytest.raises(SignatureError) as error:
        verify([secret], headers(peer), tampered, now=TS)
    assert error.value.code == "bad_signature"


@settings(max_examples=50)
@given(key=keys, other=keys, body=st.binary(max_size=200))
def test_property_other_secret_fails(key, other, body):
    secret = "whsec_" + base64.b64encode(key).decode()
    wrong = "whsec_" + base64.b64encode(other).decode()
    signature = sign(wrong, MSG, TS, body)
    if key == other:
        assert verify([secret], headers(signature), body, now=TS)
    else:
        assert error_of([secret], headers(signature), body=body).code == "bad_signature"


def test_the_documented_snippet_and_vector():
    """docs/webhooks.md: its Python snippet signs the vector it shows."""
    docs = (Path(__file__).resolve().parent.parent / "docs" / "webhooks.md").read_text("utf-8")
    for line in (SECRET, MSG, str(TS), BODY.decode(), EXPECTED):
        assert line in docs
    assert f"key (24 bytes)     {parse_secret(SECRET).hex()}" in docs
    snippet = re.search(r"```python\n(.*?)```", docs, flags=re.S).group(1)
    namespace = {}
    exec(snippet, namespace)
    assert namespace["sign"](SECRET, MSG, TS, BODY) == EXPECTED


def test_every_entry_is_compared_with_every_secret_in_constant_time():
    entries = [sign(OTHER, MSG, TS, BODY), "v2,ignored", EXPECTED, "v1,bm9wZQ=="]
    with patch.object(ws.hmac, "compare_digest", wraps=hmac.compare_digest) as spy:
        verify([SECRET, OTHER, THIRD], headers(" ".join(entries)), BODY, now=TS)
    assert spy.call_count == 3 * 3  # three v1 entries x three secrets, no early exit
