"""Shared test helpers for check tests (imported by name: tests/checks is on sys.path)."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def json_body(data: object) -> bytes:
    return json.dumps(data).encode()
