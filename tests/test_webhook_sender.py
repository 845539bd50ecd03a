"""tools/depanssur_webhook_send.py builds correctly signed requests (requests.post mocked)."""

import importlib.util
import json
from datetime import datetime, timezone
from pathlib import Path
from unittest.mock import patch

import pytest
import requests
from standardwebhooks.webhooks import Webhook

from depanssur.rules import webhook_contract, webhook_signature

TOOL = Path(__file__).resolve().parent.parent / "tools" / "depanssur_webhook_send.py"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
URL = "http://odoo.test/depanssur/webhook"


def _load_tool():
    spec = importlib.util.spec_from_file_location("depanssur_webhook_send", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sender = _load_tool()


class FakeResponse:
    def __init__(self, status_code=202, text='{"status": "accepted"}'):
        self.status_code = status_code
        self.text = text


def run(argv, response=None):
    """Run the CLI with requests.post mocked; return (exit code, the one call's kwargs)."""
    calls = []

    def fake_post(url, **kwargs):
        calls.append({"url": url, **kwargs})
        return response or FakeResponse()

    with patch("requests.post", side_effect=fake_post):
        code = sender.main(argv)
    assert len(calls) <= 1
    return code, (calls[0] if calls else None)


def assert_signed(call, secret=SECRET):
    """The posted bytes verify with our rules and with the independent peer library."""
    headers, body = call["headers"], call["data"]
    assert isinstance(body, bytes)
    assert headers["Content-Type"] == "application/json"
    stamp = int(headers["webhook-timestamp"])
    verified = webhook_signature.verify([secret], headers, body, now=stamp)
    assert verified.msg_id == headers["webhook-id"]
    peer = Webhook(secret).sign(
        headers["webhook-id"], datetime.fromtimestamp(stamp, tz=timezone.utc), body.decode()
    )
    assert headers["webhook-signature"] == peer
    return json.loads(body)


def test_the_tool_uses_the_addon_rules_not_a_copy():
    assert sender.webhook_signature is webhook_signature
    assert sender.webhook_contract is webhook_contract
    assert "hmac" not in TOOL.read_text(encoding="utf-8")


def test_build_request_signs_the_exact_bytes():
    envelope = webhook_contract.EXAMPLES["nps.responded"]
    body, headers = sender.build_request(SECRET, envelope, msg_id="msg_1", timestamp=1614265330)
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == "1614265330"
    assert headers["webhook-signature"] == webhook_signature.sign(SECRET, "msg_1", 1614265330, body)
    assert json.loads(body) == envelope
    assert "Très rapide".encode() in body  # UTF-8, not \u escapes
    tampered = body.replace(b"9", b"8")
    with pytest.raises(webhook_signature.SignatureError):
        webhook_signature.verify([SECRET], headers, tampered, now=1614265330)


def test_new_ids_and_timestamps_by_default():
    envelope = webhook_contract.EXAMPLES["dossier.closed"]
    _body, first = sender.build_request(SECRET, envelope)
    _body, second = sender.build_request(SECRET, envelope)
    assert first["webhook-id"] != second["webhook-id"]
    assert first["webhook-id"].startswith("msg_")
    assert abs(int(first["webhook-timestamp"]) - int(datetime.now().timestamp())) < 5


@pytest.mark.parametrize("event_type", webhook_contract.EVENT_TYPES)
def test_every_demo_event_is_posted_signed_and_valid(event_type, capsys):
    code, call = run(["--url", URL, "--secret", SECRET, "--event", event_type])
    assert code == 0
    assert call["url"] == URL
    assert call["timeout"] == 15.0
    envelope = assert_signed(call)
    result = webhook_contract.validate_payload(envelope)
    assert (result.event_type, result.known) == (event_type, True)
    assert envelope["data"] == webhook_contract.EXAMPLES[event_type]["data"]
    # occurred_at is now, so the demo is never older than what the instance already applied
    assert abs((datetime.now(tz=timezone.utc) - result.occurred_at).total_seconds()) < 5
    assert capsys.readouterr().out == '202\n{"status": "accepted"}\n'


def test_set_id_timestamp_and_secret_from_the_environment(monkeypatch):
    monkeypatch.setenv("DEPANSSUR_WEBHOOK_SECRET", SECRET)
    code, call = run(
        [
            "--url",
            URL,
            "--event",
            "intervention.completed",
            "--id",
            "msg_cli",
            "--timestamp",
            "1614265330",
            "--set",
            "external_id=DEP-7",
            "--set",
            "costs.labour=99.5",
            "--set",
            "costs.total=180.40",
        ]
    )
    assert code == 0
    assert (call["headers"]["webhook-id"], call["headers"]["webhook-timestamp"]) == (
        "msg_cli",
        "1614265330",
    )
    envelope = assert_signed(call)
    assert envelope["data"]["external_id"] == "DEP-7"
    assert envelope["data"]["costs"] == {
        "labour": 99.5,
        "parts": "45.90",
        "travel": "35.00",
        "total": 180.4,
    }
    webhook_contract.validate_payload(envelope)


def test_secret_option_wins_over_the_environment(monkeypatch):
    other = "whsec_" + "QUJD" * 8
    monkeypatch.setenv("DEPANSSUR_WEBHOOK_SECRET", other)
    _code, call = run(["--url", URL, "--secret", SECRET, "--event", "dossier.closed"])
    assert_signed(call, SECRET)
    with pytest.raises(webhook_signature.SignatureError):
        assert_signed(call, other)


def test_file(tmp_path):
    envelope = {"type": "artisan.assigned", "occurred_at": "2026-03-01T10:00:00Z", "data": {}}
    path = tmp_path / "event.json"
    path.write_text(json.dumps(envelope), encoding="utf-8")
    code, call = run(["--url", URL, "--secret", SECRET, "--file", str(path), "--id", "msg_f"])
    assert code == 0
    assert assert_signed(call) == envelope
    assert call["headers"]["webhook-id"] == "msg_f"


@pytest.mark.parametrize(("status", "expected"), [(200, 0), (400, 1), (401, 1), (500, 1)])
def test_exit_code_and_output_follow_the_answer(status, expected, capsys):
    body = json.dumps({"error": "bad_signature", "message": "no v1 signature matches"})
    code, _call = run(
        ["--url", URL, "--secret", SECRET, "--event", "dossier.closed"],
        response=FakeResponse(status, body),
    )
    assert code == expected
    assert capsys.readouterr().out == f"{status}\n{body}\n"


def test_connection_error_is_reported(capsys):
    with patch("requests.post", side_effect=requests.ConnectionError("refused")):
        code = sender.main(["--url", URL, "--secret", SECRET, "--event", "dossier.closed"])
    assert code == 1
    assert "request failed: refused" in capsys.readouterr().err


def test_dry_run_posts_nothing(capsys):
    code, call = run(["--secret", SECRET, "--event", "nps.responded", "--dry-run", "--id", "m1"])
    assert (code, call) == (0, None)
    out = capsys.readouterr().out
    assert out.startswith(f"POST {sender.DEFAULT_URL}\n")
    assert "webhook-id: m1\n" in out
    assert '"type":"nps.responded"' in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--event", "dossier.closed"], "DEPANSSUR_WEBHOOK_SECRET"),
        (["--secret", "nope", "--event", "dossier.closed"], "bad secret"),
        (["--secret", SECRET], "one of the arguments --event --file is required"),
        (["--secret", SECRET, "--event", "dossier.closed", "--file", "x.json"], "not allowed"),
        (["--secret", SECRET, "--event", "dossier.teleported"], "invalid choice"),
        (["--secret", SECRET, "--event", "dossier.closed", "--set", "oops"], "KEY=VALUE"),
        (["--secret", SECRET, "--file", "/nonexistent/event.json"], "No such file"),
    ],
)
def test_usage_errors(argv, message, capsys, monkeypatch):
    monkeypatch.delenv("DEPANSSUR_WEBHOOK_SECRET", raising=False)
    with patch("requests.post") as post, pytest.raises(SystemExit) as exit_info:
        sender.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    post.assert_not_called()


def test_the_secret_is_never_printed(capsys):
    run(["--url", URL, "--secret", SECRET, "--event", "dossier.closed"])
    sender.main(["--secret", SECRET, "--event", "dossier.closed", "--dry-run"])
    captured = capsys.readouterr()
    assert SECRET.removeprefix("whsec_") not in captured.out + captured.err
