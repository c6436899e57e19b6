"""``eq.scanner``: scanners this machine sees through SANE (EQ-02, "printers and scanners").

``scanimage -L`` (Debian ``sane-utils``) lists the scanners every SANE backend finds, USB
and network ones alike; the check runs it under a deadline as ``scanimage -f FORMAT``, the
same list formatted, so that the answer is read field by field. Configured under ``eq.scanner``::

    checks:
      eq.scanner:
        devices: ["fujitsu:fi-7160"]   # SANE names (or a part of one) that must be found
        expected: true                 # this PC has a scanner: say so when none is found

Each scanner found gives an ``eq.scanner`` result, ``ok`` with ``scanner_up`` = 1; a
configured scanner that is not found is ``fail`` with ``scanner_up`` = 0, and so is "no
scanner at all" when one is ``expected``. SANE is asked only when a scanner is configured or
expected: listing wakes every backend (USB enumeration, network discovery), too costly on
every PC every minute for nothing. Otherwise the check reports nothing (not every PC has a
scanner; EQ-02 reads scanners as an optional device).

On Windows the platform backend's ``scanners`` fact answers instead (WIA's scanners with
their Plug and Play status, ``checks.backend.windows``): the same results and values,
"WIA" in the messages, ``devices`` matched against WIA's names and device ids. The backend
decides: one that does not keep a scanner registry (Linux) raises NotSupportedError, and
then SANE is asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from dataclasses import dataclass, field
from typing import Annotated, ClassVar

from annotated_types import Gt, Le, MinLen

from checks.backend import Backend, BackendError, NotSupportedError, ScannerDevice
from checks.base import Check, CheckConfig, CheckContext
from checks.equipment.profiles import device_result
from checks.messages import msg, said
from checks.model import Category, CheckResult, MessageRef, Status, Value
from checks.schema import Doc

CHECK_ID = "eq.scanner"
#: scanimage's formatted list: device name, vendor, model, type, one scanner a line.
LIST_FORMAT = "%d\t%v\t%m\t%t%n"
#: Longest output read: a machine has a few scanners, not thousands.
MAX_OUTPUT_BYTES = 64 * 1024


@dataclass(frozen=True, kw_only=True)
class ScannerConfig(CheckConfig):
    timeout_s: Annotated[float, Gt(0), Le(300)] = 30.0
    devices: Annotated[
        list[str], Doc("SANE device names, or parts of them, that must be found")
    ] = field(default_factory=list)
    expected: Annotated[
        bool, Doc("this machine has a scanner: a result even when none is found")
    ] = False
    command: Annotated[str, MinLen(1), Doc("SANE's scanimage")] = "scanimage"


@dataclass(frozen=True)
class Scanner:
    device: str
    vendor: str = ""
    model: str = ""
    kind: str = ""
    #: Another name the scanner is known by (WIA's device id), matched like ``device``.
    ident: str = ""

    def matches(self, wanted: str) -> bool:
        return wanted in self.device or (bool(self.ident) and wanted in self.ident)

    def words(self) -> str:
        about = " ".join(p for p in (self.vendor, self.model, self.kind) if p)
        return f"{about} ({self.device})" if about else self.device


@dataclass(frozen=True)
class ScanReading:
    scanners: tuple[Scanner, ...] = ()
    #: Why SANE or WIA could not be asked (not installed, deadline, error), by id.
    error: MessageRef | None = None
    elapsed_s: float = 0.0
    #: Who listed the scanners: "SANE", or the platform's registry ("WIA").
    source: str = "SANE"
    #: Scanners the platform knows of that are not connected now: "name (status)".
    absent: tuple[str, ...] = ()


def parse_list(output: str) -> tuple[Scanner, ...]:
    """Lines of ``scanimage -L -f LIST_FORMAT``; anything else ("No scanners were
    identified") is not a scanner."""
    out = []
    for line in output.splitlines():
        fields = line.split("\t")
        if len(fields) == 4 and fields[0].strip():
            out.append(Scanner(*(f.strip() for f in fields)))
    return tuple(out)


async def list_scanners(command: str, deadline_s: float) -> ScanReading:
    """Run ``scanimage -f LIST_FORMAT`` under ``deadline_s`` (killed when it overruns)."""
    start = time.monotonic()
    path = shutil.which(command)
    if path is None:
        return ScanReading(error=msg("eq.scanner.not_installed", command=command))
    proc = await asyncio.create_subprocess_exec(
        path,
        "-f",  # the list of -L, field by field (-L itself would win over -f)
        LIST_FORMAT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), deadline_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return ScanReading(error=msg("eq.scanner.no_list", command=command, seconds=deadline_s))
    elapsed = time.monotonic() - start
    text = stdout[:MAX_OUTPUT_BYTES].decode("utf-8", errors="replace")
    scanners = parse_list(text)
    if proc.returncode and not scanners:
        why = stderr[:300].decode("utf-8", errors="replace").strip()
        more = "_detail" if why else ""
        return ScanReading(
            error=msg(f"eq.scanner.failed{more}", command=command, code=proc.returncode, detail=why)
        )
    return ScanReading(scanners, elapsed_s=elapsed)


def wia_reading(devices: list[ScannerDevice], elapsed_s: float = 0.0) -> ScanReading:
    """The platform's scanners as SANE's would be: the connected ones found, the others
    named as absent (installed but unplugged or failing)."""
    found = tuple(
        Scanner(
            d.name,
            model=d.description if d.description != d.name else "",
            ident=d.device_id,
        )
        for d in devices
        if d.connected
    )
    # Windows's own word for a device's Plug and Play status ("Error"), when it has one.
    absent = tuple(
        f"{d.name} ({d.status})" if d.status else d.name for d in devices if not d.connected
    )
    return ScanReading(found, elapsed_s=elapsed_s, source="WIA", absent=absent)


async def platform_scanners(backend: Backend) -> ScanReading | None:
    """The backend's scanners (WIA), or None when the platform leaves scanners to SANE."""
    start = time.monotonic()
    try:
        devices = await asyncio.to_thread(backend.scanners)
    except NotSupportedError:
        return None
    except BackendError as exc:
        return ScanReading(error=msg("eq.scanner.wia_error", detail=str(exc)), source="WIA")
    return wia_reading(devices, time.monotonic() - start)


def evaluate_scanners(reading: ScanReading, wanted: list[str], expected: bool) -> list[CheckResult]:
    if reading.error is not None:
        if not (wanted or expected):
            return []  # no SANE here, and no scanner expected
        why = said(reading.error)
        return [
            CheckResult.unknown(
                CHECK_ID, Category.EQUIPMENT, why["message"], target=t, msg=why["msg"]
            )
            for t in wanted or [""]
        ]
    up, down = {"scanner_up": Value(value=1.0)}, {"scanner_up": Value(value=0.0)}
    by = reading.source
    results = [
        device_result(CHECK_ID, s.device)(
            Status.OK, msg("eq.scanner.found", by=by, scanner=s.words()), up
        )
        for s in reading.scanners
    ]
    absent = ", ".join(reading.absent)
    more = "_absent" if absent else ""
    for name in wanted:
        if not any(s.matches(name) for s in reading.scanners):
            found = ", ".join(s.device for s in reading.scanners) or "—"
            missing = msg(f"eq.scanner.missing{more}", by=by, found=found, absent=absent)
            results.append(device_result(CHECK_ID, name)(Status.FAIL, missing, down))
    if not results and expected:
        missing = msg(f"eq.scanner.none{more}", by=by, absent=absent)
        results.append(device_result(CHECK_ID, "")(Status.FAIL, missing, down))
    return [r.model_copy(update={"duration_s": reading.elapsed_s}) for r in results]


class ScannerCheck(Check):
    """The scanners SANE (Linux) or WIA (Windows) finds on this machine (``eq.scanner``,
    one result each)."""

    id = CHECK_ID
    category = Category.EQUIPMENT
    Config: ClassVar[type[CheckConfig]] = ScannerConfig
    config: ScannerConfig

    def targets(self) -> list[str]:
        return list(self.config.devices) or [""]

    async def fetch(self, ctx: CheckContext) -> ScanReading:
        if not (self.config.devices or self.config.expected):
            return ScanReading(error=msg("eq.scanner.not_asked"))  # nothing reported
        registered = await platform_scanners(self.backend)
        if registered is not None:
            return registered
        # The list is cut a little before the check's own deadline, so that it is reported
        # as this check's answer rather than as the runner's "no answer within N s".
        deadline = max(self.config.timeout_s - 1.0, self.config.timeout_s * 0.9)
        return await list_scanners(self.config.command, deadline)

    def evaluate(self, section: ScanReading) -> list[CheckResult]:
        return evaluate_scanners(section, self.config.devices, self.config.expected)
