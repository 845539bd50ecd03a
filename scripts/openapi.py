#!/usr/bin/env python3
"""Write docs/webhooks.openapi.json from the webhook JSON Schemas (rules/webhook_openapi.py)."""

import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the pure rules only: the addon's own __init__ needs Odoo
_package = types.ModuleType("depanssur")
_package.__path__ = [str(ROOT / "depanssur")]
sys.modules.setdefault("depanssur", _package)

from depanssur.rules.webhook_openapi import openapi_json  # noqa: E402

TARGET = ROOT / "docs" / "webhooks.openapi.json"

if __name__ == "__main__":
    TARGET.write_text(openapi_json(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
