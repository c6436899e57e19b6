"""Whether a Linux system clock is kept synchronised (``host.clock``'s ``ntp_synchronised``).

Asked in this order; the first that answers decides, and the answer names it:

1. **chrony** (``chronyc -c tracking``, CSV): the last field is the leap status; "Not
   synchronised" (reference ID ``00000000``) is unsynchronised, anything else ("Normal",
   "Insert second", "Delete second") synchronised to the reference named in field 2.
2. **ntpd / ntpsec** (``ntpq -c rv``): the system status word names the leap indicator and
   the sync source; ``leap_alarm`` or ``sync_unspec`` is unsynchronised.
3. **systemd** (``timedatectl show -p NTPSynchronized -p NTP``): ``NTPSynchronized`` is the
   kernel's flag (below) as timedated reads it, so it also covers systemd-timesyncd and
   any other client that disciplines the kernel clock; ``NTP`` says whether a time
   service is enabled at all.
4. **the kernel** (``adjtimex(2)`` read-only, through ctypes): the clock state is
   ``TIME_ERROR`` while the ``STA_UNSYNC`` flag is set, i.e. until an NTP client has
   disciplined the clock. Works without systemd and without any client installed (then the
   clock is, rightly, unsynchronised).

A tool that is not installed, times out or fails moves on to the next; when none tells,
:class:`BackendError` lists why. Each command runs with a deadline (``timeout_s``).
Parsing is pure (``parse_chrony_tracking``, ``parse_ntpq_rv``, ``parse_timedatectl``) and
tested on recorded outputs.
"""

from __future__ import annotations

import csv
import ctypes
import ctypes.util
import os
import re
import shutil
import subprocess
from collections.abc import Callable

from checks.backend import BackendError, TimeSync

#: adjtimex(2) clock state when STA_UNSYNC is set (<linux/timex.h>).
TIME_ERROR = 5


def parse_chrony_tracking(text: str) -> TimeSync:
    """``chronyc -c tracking``: 14 comma-separated fields, the leap status last."""
    rows = [r for r in csv.reader(text.strip().splitlines()) if r]
    if not rows or len(rows[0]) < 14:
        raise ValueError(f"not chronyc -c tracking output: {text.strip()[:120]!r}")
    row = rows[0]
    ref_id, ref_name, stratum, leap = row[0], row[1], row[2], row[13].strip()
    offset = row[4]
    if leap.lower() == "not synchronised" or ref_id.strip("0") == "":
        return TimeSync(False, "chrony", f"leap status: {leap}")
    return TimeSync(
        True,
        f"chrony ({ref_name or ref_id})",
        f"stratum {stratum}, offset {float(offset):+.6f} s",
    )


_NTPQ_STATUS = re.compile(r"status=([0-9a-fA-F]{4})\s+(leap_\w+),\s*(sync_\w+)")
_NTPQ_VAR = re.compile(r"\b(refid|stratum|offset)=([^,\s]+)")


def parse_ntpq_rv(text: str) -> TimeSync:
    """``ntpq -c rv`` (ntpd or ntpsec): the status word's leap indicator and sync source."""
    match = _NTPQ_STATUS.search(text)
    if not match:
        raise ValueError(f"not ntpq -c rv output: {text.strip()[:120]!r}")
    leap, sync = match.group(2), match.group(3)
    found = dict(_NTPQ_VAR.findall(text))
    if leap == "leap_alarm" or sync == "sync_unspec":
        return TimeSync(False, "ntpd", f"{leap}, {sync}")
    detail = ", ".join(f"{k} {found[k]}" for k in ("stratum", "offset") if k in found)
    refid = found.get("refid", "").strip('"')
    return TimeSync(True, f"ntpd ({refid})" if refid else "ntpd", detail)


def parse_timedatectl(text: str) -> TimeSync:
    """``timedatectl show -p NTPSynchronized -p NTP``: ``key=yes|no`` lines."""
    props = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    if "NTPSynchronized" not in props:
        raise ValueError(f"timedatectl named no NTPSynchronized: {text.strip()[:120]!r}")
    synced = props["NTPSynchronized"].strip() == "yes"
    service = {"yes": "time service on", "no": "time service off"}.get(props.get("NTP", ""), "")
    return TimeSync(synced, "systemd timedated", service)


def kernel_time_sync() -> TimeSync:
    """The kernel's STA_UNSYNC flag through a read-only ``adjtimex`` (modes 0)."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        raise BackendError("cannot find the C library for adjtimex")
    libc = ctypes.CDLL(libc_name, use_errno=True)
    # struct timex is 208 bytes on 64-bit Linux; zeroed, its first field (modes) is 0: read.
    buf = ctypes.create_string_buffer(512)
    state = libc.adjtimex(buf)
    if state < 0:
        err = ctypes.get_errno()
        raise BackendError(f"adjtimex: {os.strerror(err)}")
    if state == TIME_ERROR:
        return TimeSync(False, "kernel (adjtimex)", "no time service has synchronised the clock")
    return TimeSync(True, "kernel (adjtimex)", "clock disciplined by a time service")


def _run(name: str, argv: list[str], timeout_s: float) -> str:
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            timeout=timeout_s,
            check=False,
            env={**os.environ, "LC_ALL": "C"},
        )
    except subprocess.TimeoutExpired:
        raise BackendError(f"{name}: no answer within {timeout_s:g} s") from None
    except OSError as exc:
        raise BackendError(f"cannot run {name}: {exc.strerror}") from None
    out = done.stdout[: 1 << 20].decode(errors="replace")
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip().splitlines()
        raise BackendError(f"{name}: " + (err[-1][:200] if err else f"exit {done.returncode}"))
    return out


#: (tool, its arguments, the parser of its output), in the order of the module docstring.
TOOLS: tuple[tuple[str, list[str], Callable[[str], TimeSync]], ...] = (
    ("chronyc", ["-c", "tracking"], parse_chrony_tracking),
    ("ntpq", ["-c", "rv"], parse_ntpq_rv),
    ("timedatectl", ["show", "-p", "NTPSynchronized", "-p", "NTP"], parse_timedatectl),
)


def read_time_sync(
    *,
    timeout_s: float = 3.0,
    which: Callable[[str], str | None] = shutil.which,
    kernel: Callable[[], TimeSync] | None = kernel_time_sync,
) -> TimeSync:
    """Ask the tools in order, then the kernel; :class:`BackendError` when none tells."""
    reasons: list[str] = []
    for tool, args, parse in TOOLS:
        path = which(tool)
        if not path:
            continue
        try:
            return parse(_run(tool, [path, *args], timeout_s))
        except BackendError as exc:
            reasons.append(str(exc))
        except ValueError as exc:
            reasons.append(f"{tool}: {exc}")
    if kernel is not None:
        try:
            return kernel()
        except (BackendError, OSError, AttributeError) as exc:
            reasons.append(str(exc))
    raise BackendError(
        "cannot tell whether the clock is synchronised: "
        + ("; ".join(reasons) or "no time service tool installed")
    )
