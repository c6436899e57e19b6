"""The catalogue's levels as this agent knows them, to judge what it shows locally.

Thresholds have one owner, the collector's criteria catalogue (docs/ARCHITECTURE.md, "Who
owns a threshold"). Checks report values and facts; the reports the agent sends carry
them unjudged, and the collector judges them with its catalogue. What the agent shows its
own user (``ioc-agent check``, ``ioc-agent probe``) is judged here with the collector's
levels: every ingest answer names their version, and when it differs from the copy in
``STATE_DIR/levels.json`` the agent fetches them again (``GET /api/v1/levels``). Before
the first answer it uses the built-in catalogue's levels, ``agent/default_levels.json``
(written by ``ioc-collector catalogue levels``; a test keeps it equal to the catalogue).

The same body carries, per check, the criteria it feeds and their remediation steps in both
languages (``remediation``), so that ``ioc-agent check`` says what to do under a failing
result without a catalogue of its own.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from checks.levels import Bounds, table_from_json
from checks.model import Remedy

log = logging.getLogger(__name__)

LEVELS_FILE = "levels.json"
BUILT_IN = "default_levels.json"


@dataclass(frozen=True)
class KnownLevels:
    """A level table, its version and where it came from ("collector" or "built-in")."""

    version: str
    table: dict[str, dict[str, Bounds]]
    source: str
    #: check id -> the criteria it feeds and what to do when they are not met
    remediation: dict[str, list[Remedy]] = field(default_factory=dict)


def _remediation(data: Any) -> dict[str, list[Remedy]]:
    """check id -> its remedies, their types checked (ValueError when they are not)."""
    import msgspec

    try:
        out: dict[str, list[Remedy]] = msgspec.convert(data, dict[str, list[Remedy]])
    except msgspec.ValidationError as exc:
        raise ValueError(f"remediation: {exc}") from None
    return out


def parse_levels(data: Any, source: str) -> KnownLevels:
    """``{"version": ..., "levels": {...}}`` as read; ValueError when it is not that."""
    if not isinstance(data, dict) or not isinstance(data.get("version"), str):
        raise ValueError("expected an object with 'version' and 'levels'")
    remediation = _remediation(data.get("remediation") or {})
    return KnownLevels(data["version"], table_from_json(data.get("levels")), source, remediation)


def built_in_levels() -> KnownLevels:
    text = resources.files("agent").joinpath(BUILT_IN).read_text("utf-8")
    return parse_levels(json.loads(text), "built-in")


def load_levels(state_dir: Path | None) -> KnownLevels:
    """The collector's levels kept in ``state_dir``, else the built-in ones. A damaged copy
    is logged and passed over (the next ingest answer fetches it again)."""
    if state_dir is not None:
        path = Path(state_dir) / LEVELS_FILE
        try:
            return parse_levels(json.loads(path.read_text("utf-8")), "collector")
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            log.warning("%s: unusable (%s); the built-in levels are used", path, exc)
    return built_in_levels()


def save_levels(state_dir: Path, body: Any) -> KnownLevels:
    """Check and keep the collector's answer to ``GET /api/v1/levels`` (atomically: a
    reader sees the old copy or the new one)."""
    known = parse_levels(body, "collector")
    state_dir = Path(state_dir)
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    final = state_dir / LEVELS_FILE
    tmp = final.with_name(f".{LEVELS_FILE}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(body, indent=1), encoding="utf-8")
        os.replace(tmp, final)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return known
