"""``eq.cups``: printers on this machine's print service (CUPS), USB ones included (EQ-02).

Most commune printers hang on a PC's USB port, where no SNMP reaches them; the PC's CUPS
knows their state. The check asks the local cupsd over IPP (:mod:`checks.equipment.ipp`):
CUPS-Get-Printers for the queue names (unless ``queues`` lists them), then
Get-Printer-Attributes of each queue: ``printer-state`` (idle, processing, stopped),
``printer-state-reasons`` (toner-low, media-empty, offline-report...),
``printer-is-accepting-jobs`` and the supply levels (``marker-names``, ``marker-levels``,
``marker-types``). Configured under ``eq.cups``::

    checks:
      eq.cups:
        queues: [HP_LaserJet_M15]     # default: every queue of the local cupsd
        expected: true                # this PC has a printer: say so when none is found

Each queue gives one ``eq.printer`` result, judged exactly as a printer read over SNMP
(:func:`checks.equipment.printer.evaluate_printer`): the state and the reasons become the
printer states and error conditions the SNMP printer reports, the markers its supplies. A
machine with no cupsd and no configured queue reports nothing (not every PC prints), unless
``expected``. docs/DEVICES.md, "USB devices", gives the mapping.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Annotated, ClassVar
from urllib.parse import quote, urlsplit

from annotated_types import Gt, Le

from checks import http
from checks.base import Check, CheckConfig, CheckContext, Message
from checks.equipment import ipp
from checks.equipment.printer import CHECK_ID, PrinterSection, Supply, evaluate_printer
from checks.equipment.profiles import device_result
from checks.messages import kept, msg, said, written
from checks.model import MAX_PARAM_CHARS, Category, CheckResult, MessageRef, Status, Value
from checks.schema import After, Doc

#: What is asked of each queue.
PRINTER_ATTRIBUTES = (
    "printer-name",
    "printer-state",
    "printer-state-reasons",
    "printer-state-message",
    "printer-is-accepting-jobs",
    "printer-make-and-model",
    "device-uri",
    "marker-names",
    "marker-levels",
    "marker-types",
)
#: printer-state (RFC 8011 §5.4.11).
IDLE, PROCESSING, STOPPED = 3, 4, 5
STATE_WORDS = {IDLE: "idle", PROCESSING: "printing", STOPPED: "stopped"}
#: client-error-not-found: CUPS-Get-Printers on a cupsd without any queue, or no such queue.
NOT_FOUND = 0x0406

#: printer-state-reasons keywords (suffix -report/-warning/-error removed) as the error
#: conditions of the SNMP printer (``printer.ERROR_BITS`` words where one fits): the
#: printer's own judgement then applies (``printer.FAILING_ERRORS`` fail, others warn).
REASON_WORDS = {
    "media-empty": "no paper",
    "media-needed": "no paper",
    "media-low": "low paper",
    "media-jam": "jammed",
    "toner-empty": "no toner",
    "toner-low": "low toner",
    "marker-supply-empty": "supply empty",
    "marker-supply-low": "supply low",
    "marker-waste-full": "output full",
    "marker-waste-almost-full": "output near full",
    "output-area-full": "output full",
    "output-area-almost-full": "output near full",
    "door-open": "door open",
    "cover-open": "door open",
    "interlock-open": "door open",
    "offline": "offline",
    "shutdown": "offline",
    "input-tray-missing": "input tray missing",
    "output-tray-missing": "output tray missing",
}
#: Reasons that say nothing of the printer's health: CUPS's own bookkeeping, or states that
#: printer-state already gives (a stopped queue is "paused").
IGNORED_REASONS = frozenset(
    {"none", "paused", "moving-to-paused", "connecting-to-device", "cups-waiting-for-job-completed"}
)
#: marker-types (PWG 5100.x keywords) as prtMarkerSuppliesType codes (RFC 3805), so that a
#: supply gets the same value name over IPP as over SNMP (``toner_black``...).
MARKER_TYPES = {
    "toner": 3,
    "waste-toner": 4,
    "ink": 5,
    "ink-cartridge": 6,
    "ink-ribbon": 7,
    "waste-ink": 8,
    "opc": 9,
    "developer": 10,
    "fuser-oil": 11,
    "fuser": 15,
    "transfer-unit": 20,
    "toner-cartridge": 21,
    "staples": 24,
}
SUPPLY_CONSUMED, SUPPLY_RECEPTACLE = 3, 4


def _url(v: str) -> str:
    parts = urlsplit(v)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("url must be http://HOST:PORT of the cupsd, e.g. http://localhost:631")
    return v.rstrip("/")


@dataclass(frozen=True, kw_only=True)
class CupsConfig(CheckConfig):
    timeout_s: Annotated[float, Gt(0), Le(300)] = 10.0
    url: Annotated[str, After(_url), Doc("the local cupsd (http://host:port)")] = (
        "http://localhost:631"
    )
    queues: Annotated[list[str], Doc("default: every queue")] = field(default_factory=list)
    expected: Annotated[
        bool, Doc("this machine has a printer: a result even when none is found")
    ] = False
    request_timeout_s: Annotated[float, Gt(0), Le(60)] = 3.0


@dataclass(frozen=True)
class QueueReading:
    """One queue's answer, or why there is none (``error``)."""

    name: str
    attributes: ipp.Attributes
    error: Message = ""


@dataclass(frozen=True)
class CupsReading:
    queues: tuple[QueueReading, ...] = ()
    #: cupsd did not answer (refused, silent, not IPP): the reason.
    unreachable: Message = ""
    elapsed_s: float = 0.0


def _first(attrs: ipp.Attributes, name: str) -> ipp.Value | None:
    values = attrs.get(name) or []
    return values[0] if values else None


def _texts(attrs: ipp.Attributes, name: str) -> list[str]:
    return [v for v in attrs.get(name, []) if isinstance(v, str)]


def reason_words(reasons: list[str]) -> tuple[str, ...]:
    """printer-state-reasons as error conditions: known keywords in the printer's words,
    unknown ones as sent unless they are only a ``-report`` (information)."""
    out: list[str] = []
    for reason in reasons:
        base = reason
        for suffix in ("-report", "-warning", "-error"):
            base = base.removesuffix(suffix)
        if base in IGNORED_REASONS:
            continue
        words = REASON_WORDS.get(base)
        if words is None and reason.endswith("-report"):
            continue
        words = words or base.replace("-", " ")
        if words not in out:
            out.append(words)
    return tuple(out)


def supplies(attrs: ipp.Attributes) -> tuple[Supply, ...]:
    """marker-names/levels/types as Printer-MIB supplies (levels in percent; -1, -2 and -3
    keep the RFC 3805 meanings: other, unknown, some remaining)."""
    names = _texts(attrs, "marker-names")
    levels = [v for v in attrs.get("marker-levels", []) if isinstance(v, int)]
    types = _texts(attrs, "marker-types")
    out = []
    for i, (name, level) in enumerate(zip(names, levels, strict=False)):
        kind = types[i] if i < len(types) else ""
        receptacle = kind.startswith("waste-")
        out.append(
            Supply(
                index=str(i + 1),
                description=name,
                supply_class=SUPPLY_RECEPTACLE if receptacle else SUPPLY_CONSUMED,
                supply_type=MARKER_TYPES.get(kind),
                max_capacity=100,
                level=level,
            )
        )
    return tuple(out)


def printer_section(attrs: ipp.Attributes) -> PrinterSection:
    """A queue's attributes as the section the SNMP printer is judged from: stopped is a
    printer down (hrDeviceStatus down), idle and processing a running printer."""
    state = _first(attrs, "printer-state")
    errors = reason_words(_texts(attrs, "printer-state-reasons"))
    if _first(attrs, "printer-is-accepting-jobs") is False:
        errors += ("not accepting jobs",)
    device_status = 5 if state == STOPPED else 2 if state in (IDLE, PROCESSING) else None
    printer_status = {IDLE: 3, PROCESSING: 4}.get(state) if isinstance(state, int) else None
    return PrinterSection(supplies(attrs), printer_status, device_status, errors)


def _state_words(attrs: ipp.Attributes) -> str:
    """The queue's state as a kept message, with CUPS's own printer-state-message."""
    state = _first(attrs, "printer-state")
    # Only a queue in one of these states is judged (printer_section).
    name = STATE_WORDS.get(state, "unknown") if isinstance(state, int) else "unknown"
    words = kept(f"term.printer_{name}", {}, name)
    own = next(iter(_texts(attrs, "printer-state-message")), "")
    return kept("eq.cups.state_said", {"state": words, "said": own[:200]}) if own else words


def queue_message(attrs: ipp.Attributes, section: PrinterSection) -> MessageRef:
    """``CUPS (usb, HP LaserJet M15): stopped "Paper jam", no paper; black toner 5 %``: the
    states and supplies as kept messages, the device and CUPS's own words as sent."""
    about = ", ".join(
        str(v)
        for v in (
            urlsplit(str(_first(attrs, "device-uri") or "")).scheme,
            _first(attrs, "printer-make-and-model"),
        )
        if v
    )
    errors = (kept(f"term.printer_{e.replace(' ', '_')}", {}, e) for e in section.errors)
    states = ", ".join([_state_words(attrs), *errors])
    if section.supplies:
        states += "; " + ", ".join(s.words() for s in section.supplies)
    if len(states) > MAX_PARAM_CHARS:  # too many to keep: said in English
        states = written(states, "en")
    if about:
        return msg("eq.cups.queue_about", about=about, states=states)
    return msg("eq.cups.queue", states=states)


def evaluate_queue(queue: QueueReading) -> CheckResult:
    result = device_result(CHECK_ID, queue.name)
    if queue.error:
        return result(Status.FAIL, queue.error, {"printer_up": Value(value=0.0)})
    section = printer_section(queue.attributes)
    if section.device_status is None:
        return result(Status.UNKNOWN, msg("eq.cups.no_state"))
    judged = evaluate_printer(section, queue.name)
    # CUPS says more (the queue's device, its own message) than the printer's states.
    return judged.model_copy(update=said(queue_message(queue.attributes, section)))


class CupsCheck(Check):
    """Every queue of the local CUPS (or the configured ones): one ``eq.printer`` each."""

    id = "eq.cups"
    category = Category.EQUIPMENT
    Config: ClassVar[type[CheckConfig]] = CupsConfig
    config: CupsConfig

    def targets(self) -> list[str]:
        return list(self.config.queues) or [""]

    async def _names(self, client: http.Client) -> list[str]:
        if self.config.queues:
            return list(self.config.queues)
        try:
            answer = await ipp.ipp_request(
                client,
                f"{self.config.url}/",
                ipp.CUPS_GET_PRINTERS,
                "ipp://localhost/",
                ("printer-name",),
            )
        except ipp.IppError as exc:
            if exc.status == NOT_FOUND:
                return []  # a cupsd without any queue
            raise
        return [n for p in answer.printers for n in _texts(p, "printer-name")]

    async def _queue(self, client: http.Client, name: str) -> QueueReading:
        path = f"/printers/{quote(name, safe='')}"
        try:
            answer = await ipp.ipp_request(
                client,
                self.config.url + path,
                ipp.GET_PRINTER_ATTRIBUTES,
                f"ipp://localhost{path}",
                PRINTER_ATTRIBUTES,
            )
        except ipp.IppError as exc:
            if exc.status == NOT_FOUND:
                return QueueReading(name, {}, msg("eq.cups.no_queue"))
            return QueueReading(name, {}, msg("eq.cups.refused", detail=exc.reason))
        attrs = answer.printers[0] if answer.printers else {}
        return QueueReading(name, attrs)

    async def fetch(self, ctx: CheckContext) -> CupsReading:
        start = time.monotonic()
        client = http.Client(timeout_s=self.config.request_timeout_s, trust_env=False)
        try:
            names = await self._names(client)
            queues = await asyncio.gather(*(self._queue(client, n) for n in names))
        except (http.HTTPError, ipp.IppError, OSError) as exc:
            url = self.config.url
            if isinstance(exc, http.TimeoutException):
                return CupsReading(unreachable=msg("eq.cups.timeout", url=url))
            why = str(exc) or type(exc).__name__
            return CupsReading(unreachable=msg("eq.cups.unreachable", url=url, detail=why))
        finally:
            client.close()
        return CupsReading(tuple(queues), elapsed_s=time.monotonic() - start)

    def evaluate(self, section: CupsReading) -> list[CheckResult]:
        if section.unreachable:
            if not (self.config.queues or self.config.expected):
                return []  # no print service on this machine, and none expected
            fail = {"printer_up": Value(value=0.0)}
            return [
                device_result(CHECK_ID, t)(Status.FAIL, section.unreachable, fail)
                for t in self.targets()
            ]
        if not section.queues:
            if not self.config.expected:
                return []
            return [device_result(CHECK_ID, "")(Status.FAIL, msg("eq.cups.none"))]
        return [
            evaluate_queue(q).model_copy(update={"duration_s": section.elapsed_s})
            for q in section.queues
        ]
