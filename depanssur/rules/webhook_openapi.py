"""The OpenAPI 3.1 description of the webhook receiver, built from the published JSON Schemas.

``docs/webhooks.openapi.json`` is this document (``python3 scripts/openapi.py`` writes it; a test
checks it is current). It describes what ``POST /depanssur/webhook`` accepts (the Standard
Webhooks headers, the envelope and each event's data) and every answer it gives, so that tools
such as schemathesis can fuzz the endpoint and check its answers against it.
"""

import copy
import json

from .webhook_contract import EVENT_TYPES, load_schema

PATH = "/depanssur/webhook"
ERROR_CODES = {
    "400": ("malformed_json", "invalid_payload"),
    "401": ("missing_headers", "bad_id", "bad_timestamp", "stale_timestamp", "bad_signature"),
    "413": ("payload_too_large",),
    "415": ("unsupported_media_type",),
}
ERROR_MEANINGS = {
    "400": "The body is not valid JSON, or the payload breaks the contract (`path` says where).",
    "401": "Not authenticated: missing headers, bad signature, or a timestamp out of tolerance.",
    "413": "The body is over the size limit (256 KB by default).",
    "415": "The body is not `application/json`.",
}


def _component(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _rewrite_refs(node, prefix):
    """Point the schema's local ``#/$defs/x`` references at ``components.schemas.<prefix>.x``."""
    if isinstance(node, dict):
        return {
            key: (
                f"#/components/schemas/{prefix}.{value.rsplit('/', 1)[1]}"
                if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/")
                else _rewrite_refs(value, prefix)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(item, prefix) for item in node]
    return node


def _event_schemas():
    """components.schemas for each event's data, its definitions, and the envelopes."""
    schemas = {}
    envelope = load_schema("envelope")
    for key in ("$schema", "$id"):
        envelope.pop(key, None)
    schemas["Envelope"] = envelope
    variants = []
    for event_type in EVENT_TYPES:
        schema = load_schema(event_type)
        for key in ("$schema", "$id"):
            schema.pop(key, None)
        definitions = schema.pop("$defs", {})
        schemas[event_type] = _rewrite_refs(schema, event_type)
        for name, definition in definitions.items():
            schemas[f"{event_type}.{name}"] = _rewrite_refs(definition, event_type)
        variant = copy.deepcopy(envelope)
        variant["title"] = f"{event_type} event"
        variant["description"] = schema.get("description", "")
        variant["properties"]["type"] = {"const": event_type}
        variant["properties"]["data"] = _component(event_type)
        schemas[f"{event_type}.event"] = variant
        variants.append(_component(f"{event_type}.event"))
    # an unknown event type is stored and ignored: the bare envelope is accepted too
    schemas["Event"] = {
        "description": "One event: a known type with its data, or any other type (ignored).",
        "anyOf": [*variants, _component("Envelope")],
    }
    schemas["Accepted"] = {
        "type": "object",
        "properties": {
            "status": {"enum": ["accepted", "duplicate"]},
            "id": {"type": "string", "description": "the webhook-id of the delivery"},
        },
        "required": ["status", "id"],
    }
    schemas["Error"] = {
        "type": "object",
        "properties": {
            "error": {"enum": sorted({code for codes in ERROR_CODES.values() for code in codes})},
            "message": {"type": "string"},
            "path": {"type": "string", "description": "dotted location in the payload"},
        },
        "required": ["error", "message", "path"],
    }
    return schemas


def _header(name, description, pattern=None, max_length=None):
    schema = {"type": "string"}
    if pattern:
        schema["pattern"] = pattern
    if max_length:
        schema["maxLength"] = max_length
    return {
        "name": name,
        "in": "header",
        "required": True,
        "description": description,
        "schema": schema,
    }


def openapi_document() -> dict:
    """The OpenAPI 3.1 document of the receiver (a plain dict, JSON-serialisable)."""

    def answer(description, schema):
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    responses = {
        "202": answer("Stored; processing is queued.", _component("Accepted")),
        "200": answer(
            "This webhook-id was already received: nothing more happens.", _component("Accepted")
        ),
    }
    for status, meaning in ERROR_MEANINGS.items():
        responses[status] = answer(meaning, _component("Error"))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Depanssur → Odoo webhooks",
            "version": "1.0.0",
            "description": (
                "Events sent by Depanssur's operational tool to its Odoo back office. "
                "Signed with the Standard Webhooks scheme; see docs/webhooks.md for the "
                "signature, retries, ordering and each event's meaning."
            ),
        },
        "servers": [{"url": "http://127.0.0.1:8069"}],
        "paths": {
            PATH: {
                "post": {
                    "operationId": "receiveEvent",
                    "summary": "Receive one signed event",
                    "parameters": [
                        _header(
                            "webhook-id",
                            "Unique id of the delivery (the same on every retry): 1 to 255 "
                            "visible ASCII characters.",
                            pattern=r"^[\x21-\x7e]+$",
                            max_length=255,
                        ),
                        _header(
                            "webhook-timestamp",
                            "Unix time of the attempt, in seconds (5-minute tolerance).",
                            pattern=r"^[0-9]{1,12}$",
                        ),
                        _header(
                            "webhook-signature",
                            "Space-separated `v1,<base64 HMAC-SHA256 of id.timestamp.body>`.",
                        ),
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _component("Event")}},
                    },
                    "responses": responses,
                }
            }
        },
        "components": {"schemas": _event_schemas()},
    }


def openapi_json() -> str:
    """The document as written in docs/ (stable key order, trailing newline)."""
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"
