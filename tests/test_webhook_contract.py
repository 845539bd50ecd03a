"""The webhook payload contract: catalogue, schemas, examples, error messages, dates, amounts."""

import copy
import json
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from depanssur.rules import webhook_contract as wc
from depanssur.rules.webhook_contract import PayloadError, validate_payload

DOCS = Path(__file__).resolve().parent.parent / "docs" / "webhooks.md"
UTC = timezone.utc


def example(event_type, **data):
    """The documented example of ``event_type`` with ``data`` fields changed (None removes)."""
    payload = copy.deepcopy(wc.EXAMPLES[event_type])
    for key, value in data.items():
        if value is None:
            payload["data"].pop(key, None)
        else:
            payload["data"][key] = value
    return payload


def refused(payload, **kwargs):
    with pytest.raises(PayloadError) as error:
        validate_payload(payload, **kwargs)
    return error.value


# --- catalogue and schema files ----------------------------------------------------------------


def test_one_schema_file_per_event_and_the_envelope():
    files = {path.name.removesuffix(".json") for path in wc.SCHEMA_DIR.glob("*.json")}
    assert files == {*wc.EVENT_TYPES, "envelope"}
    assert set(wc.EXAMPLES) == set(wc.EVENT_TYPES)
    assert set(wc.DOSSIER_EVENT_TYPES) | set(wc.PAYMENT_EVENT_TYPES) == set(wc.EVENT_TYPES)
    assert not set(wc.DOSSIER_EVENT_TYPES) & set(wc.PAYMENT_EVENT_TYPES)


@pytest.mark.parametrize("name", [*wc.EVENT_TYPES, "envelope"])
def test_schemas_are_valid_draft_2020_12(name):
    schema = wc.load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    if name != "envelope":
        assert schema["title"] == name
        assert schema["additionalProperties"] is False


def test_shared_definitions_are_identical_in_every_file():
    """Each file is self-contained; the copies of a shared definition must not drift apart."""
    seen = {}
    for name in wc.EVENT_TYPES:
        for key, definition in wc.load_schema(name).get("$defs", {}).items():
            assert seen.setdefault(key, definition) == definition, (name, key)
    assert {"external_id", "subscription", "amount", "category"} <= set(seen)


def test_dossier_events_carry_external_id_payment_events_the_subscription():
    for name in wc.DOSSIER_EVENT_TYPES:
        assert "external_id" in wc.load_schema(name)["required"]
    for name in wc.PAYMENT_EVENT_TYPES:
        assert {"subscription", "amount", "currency"} <= set(wc.load_schema(name)["required"])
    statuses = wc.load_schema("dossier.status_changed")["properties"]["status"]["enum"]
    assert tuple(statuses) == wc.DOSSIER_STATUSES
    assert tuple(wc.load_schema("dossier.created")["properties"]["channel"]["enum"]) == (
        wc.CHANNELS
    )


# --- the documented examples -------------------------------------------------------------------


@pytest.mark.parametrize("event_type", wc.EVENT_TYPES)
def test_every_documented_example_validates(event_type):
    payload = wc.EXAMPLES[event_type]
    result = validate_payload(payload)
    assert result == (
        event_type,
        wc.parse_timestamp(payload["occurred_at"]),
        payload["data"],
        True,
    )
    assert result.occurred_at.tzinfo == UTC
    assert result.known is True
    assert result.data is payload["data"]


def test_docs_show_exactly_the_examples():
    """docs/webhooks.md holds each example as a JSON block equal to EXAMPLES (no drift)."""
    blocks = re.findall(r"```json\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)
    documented = {}
    for block in blocks:
        value = json.loads(block)
        if isinstance(value, dict) and value.get("type") in wc.EVENT_TYPES:
            documented[value["type"]] = value
    assert documented == wc.EXAMPLES


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        (
            "dossier.created",
            {
                "external_id": "DEP-1",
                "subscription": "ABO/2026/00001",
                "category": "heating",
                "incident_date": "2026-02-27",
            },
        ),
        ("dossier.updated", {"external_id": "DEP-1", "category": "locksmith"}),
        ("dossier.status_changed", {"external_id": "DEP-1", "status": "qualified"}),
        ("dossier.status_changed", {"external_id": "DEP-1", "status": "declared"}),
        (
            "dossier.status_changed",
            {"external_id": "DEP-1", "status": "refused", "reason": "Hors garantie"},
        ),
        (
            "intervention.completed",
            {
                "external_id": "DEP-1",
                "completed_on": "2026-03-02",
                "costs": {"labour": 150, "parts": 45.9, "travel": "0"},
            },
        ),
        ("nps.responded", {"external_id": "DEP-1", "score": 0}),
        ("nps.responded", {"external_id": "DEP-1", "score": 10, "comment": ""}),
        ("payment.failed", {"subscription": "ABO/2026/00001", "amount": 9.9, "currency": "EUR"}),
        ("payment.succeeded", {"subscription": "ABO/2026/00001", "amount": 10, "currency": "EUR"}),
    ],
)
def test_minimal_and_variant_payloads_validate(event_type, data):
    payload = {"type": event_type, "occurred_at": "2026-03-02T18:00:00+01:00", "data": data}
    event_type_out, occurred_at, data_out, known = validate_payload(payload)
    assert (event_type_out, data_out, known) == (event_type, data, True)
    assert occurred_at == datetime(2026, 3, 2, 17, tzinfo=UTC)


# --- violations: a clear message naming the field ----------------------------------------------


@pytest.mark.parametrize(
    ("payload", "path", "words"),
    [
        (example("nps.responded", score=11), "data.score", ["above the maximum 10"]),
        (example("nps.responded", score=-1), "data.score", ["below the minimum 0"]),
        (example("nps.responded", score=7.5), "data.score", ["expected an integer"]),
        (example("nps.responded", score="9"), "data.score", ["expected an integer", "string"]),
        (example("nps.responded", score=None), "data", ['missing required field "score"']),
        (
            example("dossier.created", subscription=None, category=None),
            "data",
            ['"subscription"', '"category"', "missing"],
        ),
        (example("dossier.closed", surprise=1), "data", ['unexpected field "surprise"']),
        (example("dossier.created", categorie="plumbing"), "data", ['"categorie"']),
        (
            example("dossier.status_changed", status="teleported"),
            "data.status",
            ['"teleported"', "qualified", "refused"],
        ),
        (example("dossier.created", channel="fax"), "data.channel", ['"fax"', "phone"]),
        (example("dossier.created", category="Plumbing"), "data.category", ["category code"]),
        (example("dossier.created", external_id=""), "data.external_id", ["must not be empty"]),
        (example("dossier.created", external_id="DEP 1"), "data.external_id", ["claim file"]),
        (example("dossier.created", external_id="DEP-1\n"), "data.external_id", ["claim"]),
        (example("dossier.created", external_id=10234), "data.external_id", ["a string"]),
        (
            example("dossier.created", description="x" * 5001),
            "data.description",
            ["longer than 5000"],
        ),
        (example("dossier.updated", description=None, estimated_cost=None), "data", ["nothing"]),
        (example("payment.failed", amount="-3"), "data.amount", ["amount in euros"]),
        (example("payment.failed", amount=-3), "data.amount", ["below the minimum 0"]),
        (example("payment.failed", amount="9.999"), "data.amount", ["at most 2 decimals"]),
        (example("payment.failed", amount=9.999), "data.amount", ["at most 2 decimals"]),
        (example("payment.failed", amount="9,90"), "data.amount", ['"9,90"']),
        (example("payment.failed", amount="1e3"), "data.amount", ["amount"]),
        (example("payment.failed", amount=""), "data.amount", ["amount"]),
        (example("payment.failed", amount=True), "data.amount", ["got a boolean"]),
        (example("payment.failed", amount=10**9), "data.amount", ["above the maximum"]),
        (example("payment.failed", currency="USD"), "data.currency", ['"USD"', '"EUR"']),
        (example("payment.failed", invoice=""), "data.invoice", ["empty"]),
        (
            example("intervention.completed", costs={"labour": "1", "parts": "2"}),
            "data.costs",
            ['missing required field "travel"'],
        ),
        (
            example(
                "intervention.completed",
                costs={"labour": "1", "parts": "2", "travel": "3", "vat": "1"},
            ),
            "data.costs",
            ['unexpected field "vat"'],
        ),
        (
            example(
                "intervention.completed",
                costs={"labour": "150.00", "parts": "45.90", "travel": "35", "total": "230.00"},
            ),
            "data.costs.total",
            ["labour + parts + travel = 230.90"],
        ),
        ({"type": "dossier.closed", "data": {}}, "", ['missing required field "occurred_at"']),
        ({"occurred_at": "2026-03-01T10:00:00Z", "data": {}}, "", ['"type"']),
        ({"type": "dossier.closed", "occurred_at": "2026-03-01T10:00:00Z"}, "", ['"data"']),
        (
            {"type": "dossier.closed", "occurred_at": "2026-03-01T10:00:00Z", "data": []},
            "data",
            ["expected an object"],
        ),
        (
            {"type": "Dossier Created", "occurred_at": "2026-03-01T10:00:00Z", "data": {}},
            "type",
            ["event type"],
        ),
        (
            {"type": 3, "occurred_at": "2026-03-01T10:00:00Z", "data": {}},
            "type",
            ["expected a string"],
        ),
    ],
)
def test_violations_name_the_field(payload, path, words):
    error = refused(payload)
    assert error.path == path
    assert error.code == "invalid_payload"
    assert error.message.startswith(f"{path or 'payload'}: ")
    for word in words:
        assert word in error.message
    assert str(error) == error.message
    assert error.errors[0] == {"path": path, "message": error.message}


def test_all_errors_are_listed_first_one_is_raised():
    payload = example("dossier.created", channel="fax", category="X", estimated_cost="a")
    error = refused(payload)
    paths = [entry["path"] for entry in error.errors]
    assert paths == ["data.category", "data.channel", "data.estimated_cost"]
    assert error.path == "data.category"


def test_not_an_object():
    for payload in (["not", "an", "object"], "text", 3, None):
        error = refused(payload)
        assert (error.path, error.message) == ("", "payload: a JSON object is expected")


# --- unknown types -----------------------------------------------------------------------------


def test_unknown_type_is_accepted_as_unknown():
    payload = {
        "type": "artisan.assigned",
        "occurred_at": "2026-03-01T10:00:00Z",
        "data": {"anything": [1, {"goes": True}]},
    }
    result = validate_payload(payload)
    assert result == (
        "artisan.assigned",
        datetime(2026, 3, 1, 10, tzinfo=UTC),
        payload["data"],
        False,
    )


def test_unknown_type_still_needs_a_valid_envelope():
    assert refused({"type": "artisan.assigned", "occurred_at": "now", "data": {}}).path == (
        "occurred_at"
    )
    assert refused({"type": "artisan.assigned", "occurred_at": "2026-03-01T10:00:00Z"}).path == ""
    assert refused({"type": "artisan", "occurred_at": "2026-03-01T10:00:00Z", "data": {}}).path == (
        "type"
    )


def test_extra_envelope_members_are_ignored_but_not_inside_data():
    payload = {**wc.EXAMPLES["dossier.closed"], "id": "msg_1", "api_version": 2}
    assert validate_payload(payload).known is True
    assert refused(example("dossier.closed", id="msg_1")).path == "data"


# --- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T10:00:00Z", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01t10:00:00z", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01T11:30:00+01:30", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01T05:00:00-05:00", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01T00:30:00+02:00", datetime(2026, 2, 28, 22, 30, tzinfo=UTC)),
        ("2026-03-01T10:00:00.5Z", datetime(2026, 3, 1, 10, 0, 0, 500000, tzinfo=UTC)),
        ("2026-03-01T10:00:00.123456789Z", datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2024-02-29T23:59:59-00:00", datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_occurred_at_is_aware_utc(text, expected):
    payload = {**wc.EXAMPLES["dossier.closed"], "occurred_at": text}
    occurred_at = validate_payload(payload).occurred_at
    assert occurred_at == expected
    assert occurred_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "",
        "2026-03-01",
        "2026-03-01T10:00:00",  # no time zone
        "2026-03-01 10:00:00Z",  # space instead of T
        "2026-03-01T10:00Z",  # no seconds
        "2026-03-01T10:00:00+0100",  # offset without colon
        "2026-03-01T10:00:00+01",
        "20260301T100000Z",
        "2026-02-30T10:00:00Z",  # no such day
        "2026-03-01T24:00:00Z",
        "2026-03-01T10:60:00Z",
        "2026-03-01T10:00:60Z",
        "2026-03-01T10:00:00+24:00",
        "2026-03-01T10:00:00.Z",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "2026-03-01T10:00:00Z\n",
        "２０２６-03-01T10:00:00Z",  # full-width digits
    ],
)
def test_bad_occurred_at(text):
    error = refused({**wc.EXAMPLES["dossier.closed"], "occurred_at": text})
    assert error.path == "occurred_at"
    assert "date-time" in error.message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("incident_date", "2026-3-1"),
        ("incident_date", "01/03/2026"),
        ("incident_date", "2026-02-30"),
        ("incident_date", "2026-03-01T10:00:00Z"),
        ("declared_at", "2026-03-01"),
        ("declared_at", "2026-03-01T08:55:00"),
    ],
)
def test_bad_dates_in_data(field, value):
    error = refused(example("dossier.created", **{field: value}))
    assert error.path == f"data.{field}"
    assert json.dumps(value) in error.message


def test_incident_after_the_event_is_refused_with_a_day_of_slack():
    # 00:30 in Paris on the 2nd is still the 1st in UTC: the next day is allowed
    assert validate_payload(example("dossier.created", incident_date="2026-03-02"))
    error = refused(example("dossier.created", incident_date="2026-03-03"))
    assert (error.path, "after the event" in error.message) == ("data.incident_date", True)


def test_occurred_at_in_the_future_is_refused_when_now_is_given():
    payload = wc.EXAMPLES["dossier.closed"]  # 2026-03-05T09:00:00Z
    assert validate_payload(payload, now=datetime(2026, 3, 5, 8, 56, tzinfo=UTC)).known
    assert validate_payload(payload, now=datetime(2026, 3, 5, 8, 56))  # naive = UTC
    error = refused(payload, now=datetime(2026, 3, 5, 8, 54, tzinfo=UTC))
    assert (error.path, error.message) == ("occurred_at", "occurred_at: in the future")


def test_parse_helpers():
    assert wc.parse_date("2026-03-01").isoformat() == "2026-03-01"
    with pytest.raises(ValueError):
        wc.parse_date("2026-13-01")
    with pytest.raises(ValueError):
        wc.parse_timestamp(None)


# --- amounts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120.50", "120.50"),
        ("120.5", "120.50"),
        ("0", "0.00"),
        (45.9, "45.90"),
        (0.1, "0.10"),
        (150, "150.00"),
        ("9999999.99", "9999999.99"),
    ],
)
def test_amounts_accepted_and_parsed_to_the_cent(value, expected):
    payload = example("payment.succeeded", amount=value)
    assert validate_payload(payload).data["amount"] == value
    assert wc.parse_amount(value) == Decimal(expected)


@pytest.mark.parametrize("value", [True, None, [], "abc", float("nan"), float("inf")])
def test_parse_amount_refuses_non_amounts(value):
    with pytest.raises(PayloadError):
        wc.parse_amount(value)


def test_cost_total_uses_exact_decimals():
    costs = {"labour": 0.1, "parts": 0.2, "travel": "0", "total": "0.30"}  # 0.1 + 0.2 != 0.3
    assert validate_payload(example("intervention.completed", costs=costs)).known


# --- storable JSON and strict parsing ----------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        ({"x": float("nan")}, "data.x", "NaN"),
        ({"x": [1, float("-inf")]}, "data.x[1]", "NaN"),
        ({"x": "a\x00b"}, "data.x", "NUL"),
        ({"a\x00": 1}, "data", "NUL"),
        ({"x": "\ud800"}, "data.x", "surrogate"),
    ],
)
def test_unstorable_values_are_refused_even_for_unknown_types(data, path, words):
    payload = {"type": "artisan.assigned", "occurred_at": "2026-03-01T10:00:00Z", "data": data}
    error = refused(payload)
    assert error.path == path
    assert words in error.message


def test_deep_nesting_is_refused():
    deep = {}
    cursor = deep
    for _ in range(wc.MAX_DEPTH + 5):
        cursor["x"] = {}
        cursor = cursor["x"]
    payload = {"type": "artisan.assigned", "occurred_at": "2026-03-01T10:00:00Z", "data": deep}
    assert "nested more than" in refused(payload).message


def test_parse_json_accepts_the_examples():
    for payload in wc.EXAMPLES.values():
        body = json.dumps(payload, ensure_ascii=False).encode()
        assert wc.parse_json(body) == payload


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"type": ', "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"a": NaN}', "NaN"),
        (b'{"a": -Infinity}', "Infinity"),
        (b'{"score": 1, "score": 11}', "duplicate key 'score'"),
        (b'{"a": "\xff"}', "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested more than"),
        (b'{"a": "\\u0000"}', "NUL"),
        (b'{"a": "\\udc00"}', "surrogate"),
    ],
)
def test_parse_json_refuses_malformed(body, words):
    with pytest.raises(PayloadError) as error:
        wc.parse_json(body)
    assert error.value.code == "malformed_json"
    assert words in error.value.message


def test_docs_error_examples_are_what_the_receiver_says():
    blocks = re.findall(r"```json\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)
    documented = [json.loads(b) for b in blocks if '"invalid_payload"' in b]
    produced = []
    for payload in (
        example("nps.responded", score=11),
        example("dossier.created", subscription=None),
    ):
        error = refused(payload)
        produced.append({"error": error.code, "message": error.message, "path": error.path})
    assert documented == produced
