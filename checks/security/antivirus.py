"""``sec.antivirus``: an antivirus/EDR engine process is running (SEC-01).

psutil's process list is cross-platform, so no backend is needed. Names are compared
case-insensitively (Windows process names are). Values: ``antivirus_running`` 1/0.

The default names are the engine (service) processes of products common on Vietnamese
government PCs. Taken from vendor documentation and support forums, NOT verified on a
commune machine: a province adds its product's process name in the configuration.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

import psutil
from pydantic import Field

from checks.base import CannotMeasure, Check, CheckConfig, CheckContext
from checks.model import Category, CheckResult, Status, Value

#: process name -> product, for the message.
DEFAULT_AV_PROCESSES: dict[str, str] = {
    # Windows
    "MsMpEng.exe": "Microsoft Defender",
    "BkavService.exe": "BKAV",
    "BkavSystemServer.exe": "BKAV",
    "avp.exe": "Kaspersky",
    "ekrn.exe": "ESET",
    "CMCAVService.exe": "CMC Antivirus",
    "ccSvcHst.exe": "Symantec/Norton",
    "NTRTScan.exe": "Trend Micro",
    "SophosHealth.exe": "Sophos",
    "MsSense.exe": "Microsoft Defender for Endpoint",
    # Linux
    "clamd": "ClamAV",
    "wdavdaemon": "Microsoft Defender for Endpoint (Linux)",
    "kesl": "Kaspersky Endpoint Security for Linux",
    "esets_daemon": "ESET (Linux)",
    "oaeventd": "ESET (Linux)",
}


class AntivirusConfig(CheckConfig):
    process_names: list[str] = Field(
        default_factory=lambda: list(DEFAULT_AV_PROCESSES),
        description="antivirus/EDR engine process names (any one running is enough)",
    )


@dataclass(frozen=True)
class AntivirusSection:
    running: tuple[str, ...]


def parse_antivirus(process_names: Iterable[str | None], wanted: list[str]) -> AntivirusSection:
    by_lower = {w.lower(): w for w in wanted}
    seen = {by_lower[n.lower()] for n in process_names if n and n.lower() in by_lower}
    return AntivirusSection(tuple(sorted(seen)))


def evaluate_antivirus(section: AntivirusSection) -> CheckResult:
    running = bool(section.running)
    if running:
        products = dict.fromkeys(DEFAULT_AV_PROCESSES.get(n, n) for n in section.running)
        status, message = Status.OK, "running: " + ", ".join(products)
    else:
        status, message = Status.FAIL, "no antivirus engine process running"
    return AntivirusCheck.result(
        status,
        values={"antivirus_running": Value(value=1.0 if running else 0.0)},
        message=message,
    )


def process_names() -> list[str | None]:
    """Names of every process (None where the OS refuses to say)."""
    return [p.info.get("name") for p in psutil.process_iter(["name"])]


class AntivirusCheck(Check):
    id = "sec.antivirus"
    category = Category.SECURITY
    Config: ClassVar[type[CheckConfig]] = AntivirusConfig
    config: AntivirusConfig

    async def fetch(self, ctx: CheckContext) -> list[str | None]:
        if not self.config.process_names:
            raise CannotMeasure("no antivirus process names configured")
        return await asyncio.to_thread(process_names)

    def parse(self, raw: list[str | None]) -> AntivirusSection:
        return parse_antivirus(raw, self.config.process_names)

    def evaluate(self, section: AntivirusSection) -> list[CheckResult]:
        return [evaluate_antivirus(section)]
