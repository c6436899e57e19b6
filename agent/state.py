"""The agent's enrollment state: identity and bearer token, in ``STATE_DIR/agent.json``.

The file holds a secret, so it is created with mode 0600 from the first byte (``os.open``
with the mode, then an atomic rename); it is never world-readable, not even briefly.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from checks.schema import Record

STATE_FILE = "agent.json"


class StateError(Exception):
    """The state file is missing or unusable; the message is meant for the operator."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class AgentState(Record):
    agent_id: str
    token: str = field(repr=False)
    commune_code: str
    province_code: str
    commune_name: str
    collector_url: str
    report_interval_s: int
    enrolled_at: datetime = field(default_factory=_now)


def state_path(state_dir: Path) -> Path:
    return Path(state_dir) / STATE_FILE


def save_state(state_dir: Path, state: AgentState) -> Path:
    """Write ``agent.json`` atomically with mode 0600 in a 0700 directory."""
    state_dir = Path(state_dir)
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    final = state_path(state_dir)
    tmp = final.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
    data = msgspec.json.format(state.to_json(), indent=2)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)  # the umask can only remove bits; make the mode exact
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, final)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return final


def load_state(state_dir: Path) -> AgentState:
    path = state_path(state_dir)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StateError(
            f"{path}: not enrolled yet; run 'ioc-agent enroll --collector URL --code CODE'"
        ) from None
    except OSError as exc:
        raise StateError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return AgentState.decode(json.loads(raw))
    except ValueError as exc:  # not JSON, or not a state (DecodeError)
        raise StateError(f"{path}: damaged state file ({exc}); enroll again") from None
