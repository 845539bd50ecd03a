#!/usr/bin/env python3
"""Sign and post Depanssur webhook events to a running Odoo (reference sender, for trying by hand).

    python3 tools/depanssur_webhook_send.py --secret whsec_... --event dossier.created \\
        --set subscription=ABO/2026/00001 --set external_id=DEP-1

    DEPANSSUR_WEBHOOK_SECRET=whsec_... python3 tools/depanssur_webhook_send.py --file event.json

--event posts the documented example of that type (docs/webhooks.md) with ``occurred_at`` set to
now; --set KEY=VALUE changes one of its data fields (KEY may be dotted: costs.labour; VALUE is
read as JSON when it parses, else taken as a string). --file posts a whole envelope from a JSON
file. Repeat an --id to see the duplicate answer; --timestamp forges an old one (401 expected).
Prints the HTTP status and the answer's body; exits 0 on 2xx, 1 otherwise.

The signature comes from the addon's own rules (depanssur/rules/webhook_signature.py), loaded
without Odoo, so this tool and the receiver can never disagree on the algorithm.
"""

import argparse
import copy
import json
import os
import sys
import time
import types
import uuid
from datetime import datetime, timezone
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "http://127.0.0.1:8069/depanssur/webhook"
SECRET_ENV = "DEPANSSUR_WEBHOOK_SECRET"


def _load_rules():
    """``depanssur.rules`` without running the addon's ``__init__`` (it imports Odoo).

    Same trick as tests/conftest.py: a stub ``depanssur`` package whose path is the addon folder.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if "depanssur" not in sys.modules:
        stub = types.ModuleType("depanssur")
        stub.__path__ = [str(ROOT / "depanssur")]
        sys.modules["depanssur"] = stub
    from depanssur.rules import webhook_contract, webhook_signature

    return webhook_contract, webhook_signature


webhook_contract, webhook_signature = _load_rules()


def _now_rfc3339():
    return datetime.now(tz=timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _parse_value(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def demo_event(event_type, overrides=(), occurred_at=None):
    """The documented example envelope of ``event_type``, ``occurred_at`` now, ``overrides``
    (``KEY=VALUE`` strings, dotted keys reach nested objects) applied to its data."""
    if event_type not in webhook_contract.EXAMPLES:
        known = ", ".join(webhook_contract.EVENT_TYPES)
        raise ValueError(f"no demo event {event_type!r}; known types: {known}")
    envelope = copy.deepcopy(webhook_contract.EXAMPLES[event_type])
    envelope["occurred_at"] = occurred_at or _now_rfc3339()
    for item in overrides:
        key, separator, value = item.partition("=")
        if not separator or not key:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        *parents, leaf = key.split(".")
        target = envelope["data"]
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = _parse_value(value)
    return envelope


def build_request(secret, envelope, msg_id=None, timestamp=None):
    """``(body bytes, headers)`` of one signed delivery of ``envelope``."""
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signature.sign(secret, msg_id, timestamp, body),
    }
    return body, headers


def _parser():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"receiver URL (default {DEFAULT_URL})")
    parser.add_argument("--secret", help=f"whsec_... secret (default: ${SECRET_ENV})")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--event", choices=webhook_contract.EVENT_TYPES, help="post this type's demo event"
    )
    source.add_argument("--file", type=Path, help="post the JSON envelope held in this file")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change a data field of the demo event (repeatable)",
    )
    parser.add_argument("--id", help="webhook-id (default: a new random msg_...)")
    parser.add_argument("--timestamp", type=int, help="webhook-timestamp (default: now)")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds (default 15)")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the request instead of posting it"
    )
    return parser


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    secret = (args.secret or os.environ.get(SECRET_ENV) or "").strip()
    if not secret:
        parser.error(f"--secret or the {SECRET_ENV} environment variable is required")
    try:
        webhook_signature.parse_secret(secret)
    except ValueError as error:
        parser.error(f"bad secret: {error}")
    if args.file and args.set:
        parser.error("--set applies to --event only")
    try:
        if args.file:
            envelope = json.loads(args.file.read_text(encoding="utf-8"))
        else:
            envelope = demo_event(args.event, args.set)
    except (OSError, ValueError) as error:
        parser.error(str(error))
    body, headers = build_request(secret, envelope, msg_id=args.id, timestamp=args.timestamp)
    if args.dry_run:
        print(f"POST {args.url}")
        for name, value in headers.items():
            print(f"{name}: {value}")
        print()
        print(body.decode("utf-8"))
        return 0
    try:
        response = requests.post(args.url, data=body, headers=headers, timeout=args.timeout)
    except requests.RequestException as error:
        print(f"request failed: {error}", file=sys.stderr)
        return 1
    print(response.status_code)
    print(response.text)
    return 0 if 200 <= response.status_code < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
