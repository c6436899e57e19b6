"""Shared test helpers for check tests (imported by name: tests/checks is on sys.path)."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def json_body(data: object) -> bytes:
    return json.dumps(data).encode()


def judged(result):
    """``result`` judged with the built-in catalogue's levels, as the collector and
    ``ioc-agent check`` judge it (a check itself reports values and facts, no level)."""
    from checks.levels import judge
    from collector.criteria.catalogue import level_table, load_catalogue

    global _TABLE
    if _TABLE is None:
        _TABLE = level_table(load_catalogue())
    return judge(result, _TABLE)


_TABLE = None
