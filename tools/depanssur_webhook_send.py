#!/usr/bin/env python3
"""Sign and post Depanssur webhook events to a running Odoo (for admins and for trying by hand).

    python3 tools/depanssur_webhook_send.py --url http://127.0.0.1:8069/depanssur/webhook \
        --secret whsec_... --event dossier.created --set subscription=ABO/2026/00001

The secret can come from the DEPANSSUR_WEBHOOK_SECRET environment variable. --file posts a JSON
envelope from a file instead of a built-in demo event.
"""

import argparse
import importlib.util
import json
import os
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

RULES = Path(__file__).resolve().parent.parent / "depanssur" / "rules" / "webhook_signature.py"


def _load_signature_module():
    """The addon's own signing code, loaded by path (the addon package needs Odoo)."""
    spec = importlib.util.spec_from_file_location("depanssur_webhook_signature", RULES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def demo_event(event_type, overrides):
    now = datetime.now(tz=timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    today = now[:10]
    data = {
        "dossier.created": {
            "external_id": "DEP-DEMO-1",
            "subscription": "ABO/2026/00001",
            "category": "plumbing",
            "incident_date": today,
            "channel": "app",
            "description": "Fuite d'eau sous l'évier",
            "estimated_cost": "180.00",
        },
        "dossier.updated": {"external_id": "DEP-DEMO-1", "estimated_cost": "220.00"},
        "dossier.status_changed": {"external_id": "DEP-DEMO-1", "status": "qualified"},
        "intervention.completed": {
            "external_id": "DEP-DEMO-1",
            "completed_on": today,
            "costs": {"labour": "150.00", "parts": "45.90", "travel": "35.00"},
        },
        "dossier.closed": {"external_id": "DEP-DEMO-1"},
        "dossier.cancelled": {"external_id": "DEP-DEMO-1", "reason": "Client absent"},
        "nps.responded": {"external_id": "DEP-DEMO-1", "score": 9, "comment": "Très rapide"},
        "payment.failed": {
            "subscription": "ABO/2026/00001",
            "amount": "9.90",
            "currency": "EUR",
            "reason": "insufficient_funds",
        },
        "payment.succeeded": {
            "subscription": "ABO/2026/00001",
            "amount": "9.90",
            "currency": "EUR",
        },
    }.get(event_type)
    if data is None:
        raise SystemExit(f"no demo payload for {event_type!r}")
    data.update(overrides)
    return {"type": event_type, "occurred_at": now, "data": data}


def build_request(secret, envelope, msg_id=None, timestamp=None):
    """(body bytes, headers) of a signed delivery."""
    signature = _load_signature_module()
    body = json.dumps(envelope, ensure_ascii=False).encode()
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = int(timestamp or time.time())
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature.sign(secret, msg_id, timestamp, body),
    }
    return body, headers


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8069/depanssur/webhook")
    parser.add_argument("--secret", default=os.environ.get("DEPANSSUR_WEBHOOK_SECRET"))
    parser.add_argument("--event", help="built-in demo event type, e.g. dossier.created")
    parser.add_argument("--file", help="JSON file holding a whole envelope")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a data field of the demo event",
    )
    parser.add_argument("--id", help="webhook-id (default: random); repeat one to test dedup")
    args = parser.parse_args(argv)
    if not args.secret:
        parser.error("--secret or DEPANSSUR_WEBHOOK_SECRET is required")
    if bool(args.event) == bool(args.file):
        parser.error("give exactly one of --event or --file")
    if args.file:
        envelope = json.loads(Path(args.file).read_text(encoding="utf-8"))
    else:
        overrides = dict(item.split("=", 1) for item in args.set)
        envelope = demo_event(args.event, overrides)
    body, headers = build_request(args.secret, envelope, msg_id=args.id)
    import requests

    response = requests.post(args.url, data=body, headers=headers, timeout=30)
    print(response.status_code, response.text)
    return 0 if response.status_code < 400 else 1


if __name__ == "__main__":
    sys.exit(main())
