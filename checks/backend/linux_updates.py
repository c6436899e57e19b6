"""When a Debian/Ubuntu system last took upgrades (``sec.updates``, SEC-01).

Only real upgrade events count, never a package installed (``apt install foo`` writes the
same log) and never a log rotation (which would reset a file's modification time):

1. **apt's history** (``/var/log/apt/history.log`` and its rotations ``history.log.1``,
   ``history.log.N.gz``): one stanza per apt run, ``Start-Date:`` ... ``End-Date:``. A stanza
   with an ``Upgrade:`` line upgraded packages (``apt upgrade``, ``apt full-upgrade``,
   unattended-upgrades, or an install that pulled newer versions); the newest such
   ``End-Date`` counts. apt writes local time.
2. **unattended-upgrades** (``/var/log/unattended-upgrades/unattended-upgrades.log`` and its
   rotations): a run that ended with "All upgrades installed" or found nothing left to
   upgrade ("No packages found that can be upgraded unattended") left the system current
   as of that line (for the origins it is configured for, security by default); a
   ``--dry-run`` run, which logs the same words, does not count.
3. ``/var/lib/apt/periodic/upgrade-stamp``: apt's daily timer touches it after a successful
   unattended-upgrades run; its mtime is such a run (a stamp file is never rotated).

The newest of these is the last update. apt's ``update-success-stamp`` (package *lists*
refreshed) is not an update and is not used. A Debian system (``/var/lib/dpkg/status``)
whose records name no upgrade -> :class:`BackendError` (``unknown``, with the date the
records start); another distribution -> :class:`NotSupportedError`.

Parsing is pure (``parse_apt_history``, ``parse_unattended_log``) and tested on recorded
logs.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from checks.backend import BackendError, NotSupportedError, UpdateInfo

APT_LOG_DIR = Path("/var/log/apt")
UNATTENDED_LOG_DIR = Path("/var/log/unattended-upgrades")
UPGRADE_STAMP = Path("/var/lib/apt/periodic/upgrade-stamp")
DPKG_STATUS = Path("/var/lib/dpkg/status")
#: A log bigger than this is read only up to here (a runaway log must not stall a check).
MAX_LOG_BYTES = 32 << 20

_APT_DATE = "%Y-%m-%d  %H:%M:%S"
_UU_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}),\d+ INFO (.*)$")
_UU_DONE = ("All upgrades installed", "No packages found that can be upgraded unattended")


@dataclass(frozen=True)
class AptHistory:
    """What one apt history log says: the newest upgrade, and the oldest entry."""

    last_upgrade: datetime | None
    first_entry: datetime | None


def _local(text: str, fmt: str, tz: tzinfo | None) -> datetime | None:
    try:
        naive = datetime.strptime(text.strip(), fmt)
    except ValueError:
        return None
    # apt and unattended-upgrades write the machine's local time.
    return naive.replace(tzinfo=tz) if tz is not None else naive.astimezone(UTC)


def parse_apt_history(text: str, tz: tzinfo | None = None) -> AptHistory:
    """The newest ``End-Date`` of a stanza with an ``Upgrade:`` line (``Start-Date`` when the
    run never ended: apt was killed after upgrading), and the oldest ``Start-Date``.

    ``tz`` is the zone apt wrote in (default: this machine's)."""
    last: datetime | None = None
    first: datetime | None = None
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            key, sep, value = line.partition(": ")
            if sep:
                fields[key.strip()] = value
        start = _local(fields.get("Start-Date", ""), _APT_DATE, tz)
        if start is not None and (first is None or start < first):
            first = start
        if not fields.get("Upgrade", "").strip():
            continue
        end = _local(fields.get("End-Date", ""), _APT_DATE, tz) or start
        if end is not None and (last is None or end > last):
            last = end
    return AptHistory(last, first)


def parse_unattended_log(text: str, tz: tzinfo | None = None) -> datetime | None:
    """The newest time unattended-upgrades left the system current (see the module doc)."""
    last: datetime | None = None
    dry_run = False  # a run with --dry-run also ends "All upgrades installed"
    for line in text.splitlines():
        match = _UU_LINE.match(line)
        if not match:
            continue
        said = match.group(2)
        if said.startswith("Starting unattended upgrades script"):
            dry_run = False
        elif said.startswith("Option --dry-run given"):
            dry_run = True
        elif said.startswith(_UU_DONE) and not dry_run:
            when = _local(match.group(1), "%Y-%m-%d %H:%M:%S", tz)
            if when is not None and (last is None or when > last):
                last = when
    return last


def _logs(directory: Path, name: str) -> Iterable[Path]:
    """``name``, ``name.1``, ``name.2.gz``... as logrotate leaves them, newest first."""
    found = [
        p
        for p in directory.glob(f"{name}*")
        if re.fullmatch(rf"{re.escape(name)}(\.\d+)?(\.gz)?", p.name)
    ]

    def rank(p: Path) -> int:
        suffix = p.name[len(name) :].removesuffix(".gz").lstrip(".")
        return int(suffix) if suffix else 0

    return sorted(found, key=rank)


def _read_log(path: Path) -> str:
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                data = f.read(MAX_LOG_BYTES)
        else:
            with path.open("rb") as f:
                data = f.read(MAX_LOG_BYTES)
    except PermissionError as exc:
        raise BackendError(f"cannot read {path}: {exc.strerror} (run the agent as root)") from exc
    except (OSError, EOFError) as exc:
        if path.name.endswith(".gz"):
            return ""  # a damaged old rotation: the other logs still tell
        raise BackendError(f"cannot read {path}: {exc}") from exc
    return data.decode("utf-8", errors="replace")


def _newest(
    a: tuple[datetime, str] | None, b: tuple[datetime, str] | None
) -> tuple[datetime, str] | None:
    if a is None or (b is not None and b[0] > a[0]):
        return b
    return a


def read_last_update(
    apt_logs: Path = APT_LOG_DIR,
    unattended_logs: Path = UNATTENDED_LOG_DIR,
    upgrade_stamp: Path = UPGRADE_STAMP,
    dpkg_status: Path = DPKG_STATUS,
    tz: tzinfo | None = None,
) -> UpdateInfo:
    """The newest upgrade event of the module docstring's three sources."""
    best: tuple[datetime, str] | None = None
    first: datetime | None = None
    for path in _logs(apt_logs, "history.log"):
        history = parse_apt_history(_read_log(path), tz)
        if history.last_upgrade is not None:
            best = _newest(best, (history.last_upgrade, f"apt upgrade ({path})"))
        if history.first_entry is not None and (first is None or history.first_entry < first):
            first = history.first_entry
    for path in _logs(unattended_logs, "unattended-upgrades.log"):
        when = parse_unattended_log(_read_log(path), tz)
        if when is not None:
            best = _newest(best, (when, f"unattended-upgrades ({path})"))
    try:
        stamp = datetime.fromtimestamp(upgrade_stamp.stat().st_mtime, UTC)
        best = _newest(best, (stamp, f"unattended-upgrades run ({upgrade_stamp})"))
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise BackendError(f"cannot read {upgrade_stamp}: {exc.strerror}") from exc
    if best is not None:
        return UpdateInfo(best[0], best[1])
    if not dpkg_status.exists():
        raise NotSupportedError("last update time: only Debian/Ubuntu (apt) is supported on Linux")
    since = f" since {first:%Y-%m-%d}" if first is not None else ""
    raise BackendError(f"apt records no upgrade{since} (in {apt_logs}, {unattended_logs})")
