import json
from datetime import datetime, timezone
from unittest.mock import patch

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook

from depanssur.rules import webhook_contract, webhook_signature

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_dGhpcyBpcyBhIG5ldyBzZWNyZXQga2V5IDEyMzQ="
MSG, TS, BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def headers(signature, msg_id=MSG, ts=TS):
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


def test_known_answer_vector():
    assert webhook_signature.sign(SECRET, MSG, TS, BODY) == EXPECTED
    assert webhook_signature.verify([SECRET], headers(EXPECTED), BODY, now=TS) == (MSG, TS)


def test_rotation_and_several_signatures():
    theirs = webhook_signature.sign(OTHER, MSG, TS, BODY)
    assert webhook_signature.verify([SECRET, OTHER], headers(theirs), BODY, now=TS)
    both = f"v2,zzz {theirs} {EXPECTED}"
    assert webhook_signature.verify([SECRET], headers(both), BODY, now=TS)
    with pytest.raises(webhook_signature.SignatureError) as error:
        webhook_signature.verify([SECRET], headers(theirs), BODY, now=TS)
    assert error.value.code == "bad_signature"
    assert SECRET not in str(error.value)


@pytest.mark.parametrize("offset", [-301, 301])
def test_tolerance_both_sides(offset):
    with pytest.raises(webhook_signature.SignatureError) as error:
        webhook_signature.verify([SECRET], headers(EXPECTED), BODY, now=TS + offset)
    assert error.value.code == "stale_timestamp"
    assert webhook_signature.verify([SECRET], headers(EXPECTED), BODY, now=TS + offset // 2)


def test_bad_headers_and_secrets():
    for bad in ({}, {"webhook-id": MSG}, headers("")):
        with pytest.raises(webhook_signature.SignatureError):
            webhook_signature.verify([SECRET], bad, BODY, now=TS)
    with pytest.raises(webhook_signature.SignatureError) as error:
        webhook_signature.verify([SECRET], headers(EXPECTED, ts="soon"), BODY, now=TS)
    assert error.value.code == "bad_timestamp"
    with pytest.raises(ValueError):
        webhook_signature.parse_secret("not-a-secret")
    with pytest.raises(ValueError):
        webhook_signature.parse_secret("whsec_!!!")
    # a malformed stored secret never matches but does not break the others
    assert webhook_signature.verify(["whsec_bad", SECRET], headers(EXPECTED), BODY, now=TS)


@given(body=st.binary(max_size=512), index=st.integers(min_value=0))
def test_peer_library_agrees_and_any_change_fails(body, index):
    text = body.decode("latin-1")
    when = datetime.fromtimestamp(TS, tz=timezone.utc)
    peer_signature = Webhook(SECRET).sign(MSG, when, text)
    raw = text.encode()
    assert webhook_signature.verify([SECRET], headers(peer_signature), raw, now=TS)
    assert webhook_signature.sign(SECRET, MSG, TS, raw) == peer_signature
    if raw:
        position = index % len(raw)
        tampered = raw[:position] + bytes([raw[position] ^ 1]) + raw[position + 1 :]
        with pytest.raises(webhook_signature.SignatureError):
            webhook_signature.verify([SECRET], headers(peer_signature), tampered, now=TS)


EXAMPLES = {
    "dossier.created": {
        "external_id": "DEP-1",
        "subscription": "ABO/2026/00001",
        "category": "plumbing",
        "incident_date": "2026-03-01",
        "channel": "app",
        "estimated_cost": "180.00",
    },
    "dossier.updated": {"external_id": "DEP-1", "estimated_cost": 220},
    "dossier.status_changed": {
        "external_id": "DEP-1",
        "status": "scheduled",
        "scheduled_at": "2026-03-02T08:00:00+01:00",
    },
    "intervention.completed": {
        "external_id": "DEP-1",
        "completed_on": "2026-03-02",
        "costs": {"labour": "150", "parts": 45.9, "travel": "35.00"},
    },
    "dossier.closed": {"external_id": "DEP-1"},
    "dossier.cancelled": {"external_id": "DEP-1", "reason": "Client absent"},
    "nps.responded": {"external_id": "DEP-1", "score": 0},
    "payment.failed": {"subscription": "ABO/2026/00001", "amount": "9.90", "currency": "EUR"},
    "payment.succeeded": {"subscription": "ABO/2026/00001", "amount": 9.9, "currency": "EUR"},
}


@pytest.mark.parametrize("event_type", webhook_contract.EVENT_TYPES)
def test_every_event_example_validates(event_type):
    payload = {
        "type": event_type,
        "occurred_at": "2026-03-01T10:00:00Z",
        "data": EXAMPLES[event_type],
    }
    parsed_type, occurred_at, data, known = webhook_contract.validate_payload(payload)
    assert (parsed_type, known, data) == (event_type, True, EXAMPLES[event_type])
    assert occurred_at == datetime(2026, 3, 1, 10, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        (
            {
                "type": "nps.responded",
                "occurred_at": "2026-03-01T10:00:00Z",
                "data": {"external_id": "D", "score": 11},
            },
            "data.score",
        ),
        (
            {
                "type": "dossier.created",
                "occurred_at": "2026-03-01T10:00:00Z",
                "data": {"external_id": "D"},
            },
            "data",
        ),
        (
            {
                "type": "dossier.closed",
                "occurred_at": "2026-03-01T10:00:00Z",
                "data": {"external_id": "D", "surprise": 1},
            },
            "data",
        ),
        (
            {
                "type": "dossier.status_changed",
                "occurred_at": "2026-03-01T10:00:00Z",
                "data": {"external_id": "D", "status": "teleported"},
            },
            "data.status",
        ),
        (
            {
                "type": "payment.failed",
                "occurred_at": "2026-03-01T10:00:00Z",
                "data": {"subscription": "A", "amount": "-3", "currency": "EUR"},
            },
            "data.amount",
        ),
        ({"type": "dossier.closed", "occurred_at": "yesterday", "data": {}}, "occurred_at"),
        (
            {"type": "dossier.closed", "occurred_at": "2026-03-01T10:00:00", "data": {}},
            "occurred_at",
        ),
        ({"occurred_at": "2026-03-01T10:00:00Z", "data": {}}, ""),
    ],
)
def test_schema_violations_name_the_field(payload, path):
    with pytest.raises(webhook_contract.PayloadError) as error:
        webhook_contract.validate_payload(payload)
    assert error.value.path == path
    assert error.value.message


def test_unknown_type_is_accepted_as_unknown():
    payload = {"type": "artisan.assigned", "occurred_at": "2026-03-01T10:00:00Z", "data": {"x": 1}}
    assert webhook_contract.validate_payload(payload)[3] is False
    with pytest.raises(webhook_contract.PayloadError):
        webhook_contract.validate_payload(["not", "an", "object"])


def test_sender_builds_a_signed_request(monkeypatch):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "tools" / "depanssur_webhook_send.py"
    spec = importlib.util.spec_from_file_location("sender", path)
    sender = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sender)
    posted = {}

    class Response:
        status_code = 202
        text = '{"code": "accepted"}'

    def fake_post(url, data, headers, timeout):
        posted.update(url=url, data=data, headers=headers)
        return Response()

    with patch("requests.post", fake_post):
        code = sender.main(
            [
                "--secret",
                SECRET,
                "--event",
                "nps.responded",
                "--id",
                "msg_cli",
                "--set",
                "external_id=DEP-7",
            ]
        )
    assert code == 0
    envelope = json.loads(posted["data"])
    assert envelope["data"]["external_id"] == "DEP-7"
    webhook_contract.validate_payload(envelope)
    now = int(posted["headers"]["webhook-timestamp"])
    assert (
        webhook_signature.verify([SECRET], posted["headers"], posted["data"], now=now)[0]
        == "msg_cli"
    )
