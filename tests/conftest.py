"""Pure tests: import ``depanssur.rules`` without running the addon's ``__init__`` (needs Odoo)."""

import sys
import types
from pathlib import Path

ADDON_DIR = Path(__file__).resolve().parent.parent / "depanssur"

if "depanssur" not in sys.modules:
    _stub = types.ModuleType("depanssur")
    _stub.__path__ = [str(ADDON_DIR)]
    sys.modules["depanssur"] = _stub
