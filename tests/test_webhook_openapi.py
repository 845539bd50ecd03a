"""The OpenAPI description shipped in docs/ is the one the rules build, and it says the truth."""

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from depanssur.rules import webhook_contract as wc
from depanssur.rules import webhook_openapi

DOC = Path(__file__).resolve().parent.parent / "docs" / "webhooks.openapi.json"


@pytest.fixture(scope="module")
def document():
    return webhook_openapi.openapi_document()


def validator(document, name):
    """A JSON Schema validator of ``components.schemas.<name>`` resolving the document's refs."""
    registry = Registry().with_resource("urn:doc", Resource.opaque(document))
    schema = {"$ref": f"urn:doc#/components/schemas/{name}"}
    return Draft202012Validator(schema, registry=registry)


def test_shipped_document_is_current():
    assert DOC.read_text(encoding="utf-8") == webhook_openapi.openapi_json(), (
        "docs/webhooks.openapi.json is stale: run python3 scripts/openapi.py"
    )


def test_every_event_type_and_answer_is_described(document):
    schemas = document["components"]["schemas"]
    for event_type in wc.EVENT_TYPES:
        assert schemas[f"{event_type}.event"]["properties"]["type"] == {"const": event_type}
    operation = document["paths"]["/depanssur/webhook"]["post"]
    assert set(operation["responses"]) == {"200", "202", "400", "401", "413", "415"}
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    refs = json.dumps(document)
    assert "#/$defs/" not in refs, "every local reference points into components"


@pytest.mark.parametrize("event_type", wc.EVENT_TYPES)
def test_documented_examples_match_the_description(document, event_type):
    check = validator(document, "Event")
    assert not list(check.iter_errors(wc.EXAMPLES[event_type]))
    specific = validator(document, f"{event_type}.event")
    assert not list(specific.iter_errors(wc.EXAMPLES[event_type]))


@pytest.mark.parametrize("event_type", wc.EVENT_TYPES)
def test_description_refuses_what_the_contract_refuses(document, event_type):
    """A missing required field: the receiver answers 400, and the description says so too."""
    required = wc.load_schema(event_type)["required"]
    payload = copy.deepcopy(wc.EXAMPLES[event_type])
    payload["data"].pop(required[0])
    with pytest.raises(wc.PayloadError):
        wc.validate_payload(payload)
    assert list(validator(document, f"{event_type}.event").iter_errors(payload))


def test_error_codes_are_the_receivers(document):
    codes = set(document["components"]["schemas"]["Error"]["properties"]["error"]["enum"])
    documented = (Path(DOC).parent / "webhooks.md").read_text(encoding="utf-8")
    for code in codes:
        assert f"`{code}`" in documented
