"""``eq.nut``: UPSes on this machine's Network UPS Tools server, USB ones included (EQ-03).

A UPS on a PC's USB port is read by a NUT driver; ``upsd`` (port 3493) serves its variables.
The check asks it, with the ``aionut`` client, ``LIST UPS`` (unless ``ups`` lists them) and
``LIST VAR`` of each: ``ups.status`` (OL, OB, LB, RB, CHRG, BYPASS, OFF, FSD...),
``battery.charge`` (%), ``battery.runtime`` (s), ``input.voltage`` (V). Configured under
``eq.nut``::

    checks:
      eq.nut:
        server: localhost          # upsd; port 3493
        ups: [ups-phong-may]       # default: every UPS upsd serves
        expected: true             # this PC has a UPS: say so when none is found

Each UPS gives one ``eq.ups`` result, judged exactly as a UPS read over SNMP: the status
flags become the UPS-MIB's output source and battery status (:func:`ups_section`), and
:func:`checks.equipment.ups.evaluate_ups` decides (on battery with the battery low fails,
and so on). A machine whose upsd does not answer, with no UPS configured, reports nothing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar

from annotated_types import Ge, Gt, Le, MaxLen, MinLen

from checks.base import Check, CheckConfig, CheckContext, Message
from checks.equipment.profiles import device_result
from checks.equipment.ups import CHECK_ID, FULL_CHARGE_PERCENT, UpsSection, evaluate_ups
from checks.messages import kept, msg, said, written
from checks.model import MAX_PARAM_CHARS, Category, CheckResult, MessageRef, Status, Value
from checks.resolve import Unresolved, reason_message, resolve_one
from checks.schema import Doc, Secret

DEFAULT_PORT = 3493
SOURCE = "NUT"

#: ups.status flags (NUT's docs/new-drivers.txt) as upsOutputSource (UPS-MIB): output off,
#: bypass, on battery, then boost/trim on line; "on line" when OL is the only source flag.
OFF, BYPASS, ON_BATTERY, BOOST, TRIM, ON_LINE = "OFF", "BYPASS", "OB", "BOOST", "TRIM", "OL"
SOURCE_FLAGS = ((OFF, 2), (BYPASS, 4), (ON_BATTERY, 5), (BOOST, 6), (TRIM, 7), (ON_LINE, 3))
#: Battery flags as upsBatteryStatus, with NUT's own words: forced shutdown (the UPS or
#: upsmon is cutting the load) is judged as a depleted battery, low battery as low;
#: "replace battery" is a battery whose state is in doubt (unknown: it warns) unless low.
FORCED_SHUTDOWN, LOW_BATTERY, REPLACE_BATTERY = "FSD", "LB", "RB"
BATTERY_FLAGS = (
    (FORCED_SHUTDOWN, 4, "forced shutdown (FSD)"),
    (LOW_BATTERY, 3, "battery low"),
    (REPLACE_BATTERY, 1, "replace battery"),
)
BATTERY_NORMAL = 2


@dataclass(frozen=True, kw_only=True)
class NutConfig(CheckConfig):
    timeout_s: Annotated[float, Gt(0), Le(300)] = 10.0
    server: Annotated[str, MinLen(1), MaxLen(253)] = "localhost"
    port: Annotated[int, Ge(1), Le(65535)] = DEFAULT_PORT
    ups: Annotated[list[str], Doc("default: every UPS upsd serves")] = field(default_factory=list)
    username: Annotated[str, MaxLen(64)] | None = None
    password: Secret | None = None
    expected: Annotated[bool, Doc("this machine has a UPS: a result even when none is found")] = (
        False
    )
    #: One try of a request; aionut tries twice, so a silent upsd costs twice this.
    request_timeout_s: Annotated[float, Gt(0), Le(60)] = 2.0


def _number(vars_: dict[str, str], name: str, invalid: list[str], hi: float) -> float | None:
    text = vars_.get(name)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not 0 <= number <= hi:
        invalid.append(f"{name}={text!r}")
        return None
    return number


def ups_section(vars_: dict[str, str]) -> UpsSection:
    """NUT's variables as the section a UPS read over SNMP gives (UPS-MIB codes)."""
    flags = set(vars_.get("ups.status", "").split())
    invalid: list[str] = []
    charge = _number(vars_, "battery.charge", invalid, 100)
    runtime = _number(vars_, "battery.runtime", invalid, 2**31 - 1)
    if runtime == 0 and charge == FULL_CHARGE_PERCENT:  # no estimate, as over SNMP
        invalid.append(f"battery.runtime=0 at {FULL_CHARGE_PERCENT} % charge")
        runtime = None
    source = next((code for flag, code in SOURCE_FLAGS if flag in flags), None)
    if source is None and flags:
        source = 1  # a status without a source flag (CAL, ALARM alone): "other"
    battery = [(code, words) for flag, code, words in BATTERY_FLAGS if flag in flags]
    battery_status = battery[0][0] if battery else (BATTERY_NORMAL if flags else None)
    return UpsSection(
        model=vars_.get("ups.model") or vars_.get("device.model", ""),
        output_source=source,
        battery_status=battery_status,
        minutes_remaining=None if runtime is None else int(runtime // 60),
        charge_percent=None if charge is None else round(charge),
        invalid=tuple(invalid),
        battery_words=", ".join(words for _, words in battery),
        source=SOURCE,
    )


@dataclass(frozen=True)
class UpsReading:
    name: str
    vars: dict[str, str]
    error: Message = ""


@dataclass(frozen=True)
class NutReading:
    ups: tuple[UpsReading, ...] = ()
    unreachable: Message = ""
    elapsed_s: float = 0.0


def evaluate_nut_ups(reading: UpsReading) -> CheckResult:
    result = device_result(CHECK_ID, reading.name)
    if reading.error:
        return result(Status.UNKNOWN, reading.error)
    section = ups_section(reading.vars)
    if section.empty:
        return result(Status.UNKNOWN, msg("eq.nut.no_status"))
    judged = evaluate_ups(section, reading.name)
    values = dict(judged.values)
    voltage = _number(reading.vars, "input.voltage", [], 1000)
    if voltage is not None:
        values["input_voltage"] = Value(value=voltage, unit="volts")
    # NUT's own flags and the input voltage, after the UPS's states said in either language.
    states = kept(judged.msg.id, judged.msg.params) if judged.msg else judged.message
    if len(states) > MAX_PARAM_CHARS:
        states = written(states, "en")
    flags = reading.vars.get("ups.status", "")
    if voltage is None:
        message = msg("eq.nut.ups", states=states, flags=flags)
    else:
        message = msg("eq.nut.ups_voltage", states=states, flags=flags, voltage=voltage)
    return judged.model_copy(update={"values": values, **said(message)})


def _nut_error(exc: BaseException) -> MessageRef:
    """NUT's answer in words: ``ERR DATA-STALE`` is a driver that lost its UPS."""
    text = str(exc) or type(exc).__name__
    if "DATA-STALE" in text or "DRIVER-NOT-CONNECTED" in text:
        return msg("eq.nut.driver", detail=text.rsplit(":", 1)[-1].strip())
    if "UNKNOWN-UPS" in text:
        return msg("eq.nut.unknown_ups")
    return msg("eq.nut.error", detail=text)


class NutCheck(Check):
    """Every UPS of the local upsd (or the configured ones): one ``eq.ups`` each."""

    id = "eq.nut"
    category = Category.EQUIPMENT
    Config: ClassVar[type[CheckConfig]] = NutConfig
    config: NutConfig

    def targets(self) -> list[str]:
        return list(self.config.ups) or [""]

    async def _read(self, client: Any) -> tuple[UpsReading, ...]:
        from aionut import NUTCommandError, NUTProtocolError

        names = list(self.config.ups)
        if not names:
            try:
                names = sorted(await client.list_ups())
            except NUTProtocolError as exc:
                if "END LIST UPS" in str(exc):
                    return ()  # upsd serves no UPS (aionut reads the empty list as an error)
                raise
        out = []
        for name in names:  # one connection: requests are sequential
            try:
                out.append(UpsReading(name, await client.list_vars(name)))
            except NUTCommandError as exc:  # ERR ... for this UPS; other errors end the read
                out.append(UpsReading(name, {}, _nut_error(exc)))
        return tuple(out)

    async def fetch(self, ctx: CheckContext) -> NutReading:
        from aionut import AIONUTClient, NUTError, NUTTimeoutError

        start = time.monotonic()
        cfg = self.config
        where = f"{cfg.server}:{cfg.port}"
        try:
            _, (address, port) = await resolve_one(cfg.server, cfg.port, cfg.request_timeout_s)
        except Unresolved as exc:
            return NutReading(unreachable=reason_message(exc.reason))
        # An empty password is none (aionut then does not send PASSWORD).
        password = cfg.password.get_secret_value() if cfg.password else None
        # aionut's debug log shows every line it sends, PASSWORD included: never below INFO.
        logging.getLogger("aionut").setLevel(logging.INFO)
        client = AIONUTClient(address, port, cfg.username, password, cfg.request_timeout_s)
        try:
            readings = await self._read(client)
        except (NUTError, OSError, TimeoutError) as exc:
            if isinstance(exc, TimeoutError | NUTTimeoutError):
                return NutReading(unreachable=msg("eq.nut.timeout", server=where))
            why = str(exc) or type(exc).__name__
            return NutReading(unreachable=msg("eq.nut.unreachable", server=where, detail=why))
        finally:
            client.shutdown()
        return NutReading(readings, elapsed_s=time.monotonic() - start)

    def evaluate(self, section: NutReading) -> list[CheckResult]:
        if section.unreachable:
            if not (self.config.ups or self.config.expected):
                return []  # no NUT on this machine, and no UPS expected
            why = said(section.unreachable)
            return [
                CheckResult.unknown(
                    CHECK_ID, Category.EQUIPMENT, why["message"], target=t, msg=why["msg"]
                )
                for t in self.targets()
            ]
        if not section.ups:
            if not self.config.expected:
                return []
            return [device_result(CHECK_ID, "")(Status.FAIL, msg("eq.nut.none"))]
        return [
            evaluate_nut_ups(r).model_copy(update={"duration_s": section.elapsed_s})
            for r in section.ups
        ]
