"""``sec.antivirus``: an antivirus/EDR engine is running (SEC-01).

Where the platform keeps a registry of antivirus products (Windows: Security Center, or
Defender's own status on Windows Server), the backend's ``antivirus_products`` decides: a
product on with current signatures -> ok, on with signatures out of date -> warn, every
product off -> fail. Where it has none (Linux), or it cannot be read, or it lists no product
or none whose state is known, psutil's process list decides: a known engine process
running -> ok, else fail. Names are compared case-insensitively (Windows process names
are). Values: ``antivirus_running`` 1/0.

The default names are the engine (service) processes of products common on Vietnamese
government PCs. Taken from vendor documentation and support forums, NOT verified on a
commune machine: a province adds its product's process name in the configuration.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, ClassVar

import psutil

from checks.backend import AntivirusProduct, BackendError
from checks.base import CannotMeasure, Check, CheckConfig, CheckContext
from checks.messages import msg
from checks.model import Category, CheckResult, Status, Value
from checks.schema import Doc

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


@dataclass(frozen=True, kw_only=True)
class AntivirusConfig(CheckConfig):
    process_names: Annotated[
        list[str], Doc("antivirus/EDR engine process names (any one running is enough)")
    ] = field(default_factory=lambda: list(DEFAULT_AV_PROCESSES))


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
        status, message = Status.OK, msg("sec.antivirus.running", names=", ".join(products))
    else:
        status, message = Status.FAIL, msg("sec.antivirus.none_running")
    return AntivirusCheck.result(
        status,
        values={"antivirus_running": Value(value=1.0 if running else 0.0)},
        message=message,
    )


@dataclass(frozen=True)
class RegisteredSection:
    """Antivirus products the operating system knows of, at least one with a known state."""

    products: tuple[AntivirusProduct, ...]


def decisive(products: list[AntivirusProduct]) -> RegisteredSection | None:
    """The products when they decide: one is on, or every one is known to be off."""
    if any(p.enabled for p in products) or (products and all(p.enabled is False for p in products)):
        return RegisteredSection(tuple(products))
    return None


def evaluate_registered(section: RegisteredSection) -> CheckResult:
    on = [p for p in section.products if p.enabled]
    current = [p for p in on if p.up_to_date is not False]
    source = section.products[0].source
    if current:
        status, kind, named = Status.OK, "on", current
    elif on:
        status, kind, named = Status.WARN, "outdated", on
    else:
        status, kind, named = Status.FAIL, "off", list(section.products)
    names = ", ".join(p.name for p in named)
    message = msg(f"sec.antivirus.{kind}", names=names, source=source)
    return AntivirusCheck.result(
        status,
        values={"antivirus_running": Value(value=1.0 if on else 0.0)},
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

    async def fetch(self, ctx: CheckContext) -> RegisteredSection | list[str | None]:
        try:
            registered = decisive(await asyncio.to_thread(self.backend.antivirus_products))
        except BackendError:  # none kept (Linux) or unreadable: the process list decides
            registered = None
        if registered is not None:
            return registered
        if not self.config.process_names:
            raise CannotMeasure(msg("check.not_configured", option="sec.antivirus.process_names"))
        return await asyncio.to_thread(process_names)

    def parse(
        self, raw: RegisteredSection | list[str | None]
    ) -> RegisteredSection | AntivirusSection:
        if isinstance(raw, RegisteredSection):
            return raw
        return parse_antivirus(raw, self.config.process_names)

    def evaluate(self, section: RegisteredSection | AntivirusSection) -> list[CheckResult]:
        if isinstance(section, RegisteredSection):
            return [evaluate_registered(section)]
        return [evaluate_antivirus(section)]
