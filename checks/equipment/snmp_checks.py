"""Equipment readiness over SNMP: one configured list of devices, one result per device.

Configured under the ``eq.snmp`` section of the agent configuration::

    checks:
      eq.snmp:
        devices:
          - {name: may-in-1-cua, host: 192.168.1.20, community: congdong}
          - {name: ups-phong-may, host: 192.168.1.30, kind: ups, version: "3",
             user: ioc, auth_key: "...", priv_key: "...", auth_proto: SHA256,
             priv_proto: AES256}
          - {name: switch-tang-1, host: 192.168.1.2, community: congdong,
             uplinks: [GigabitEthernet0/1]}

Each device's kind is detected (``profiles.detect_kind``) unless configured, and its result
carries the check id the criteria catalogue reads: ``eq.printer`` (EQ-02), ``eq.ups``
(EQ-03), ``eq.switch`` for switches and routers (EQ-04), ``eq.snmp_host`` otherwise. A
device that does not answer is ``unknown`` with the reason, under the id of its configured
kind, else of the kind it answered as in this poll (a poll cut by the check's deadline after
the device was identified keeps that kind), else of the kind it last answered as, else
``eq.snmp_host``: configure ``kind`` for devices that may be off when the agent starts. A
device that falls silent after giving values "stopped answering after N rows"; an SNMPv3
report or an access refusal (authorizationError) is named as such.

pysnmp is imported only when a device is polled (``snmp_client`` imports it lazily).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, ClassVar, Literal

from annotated_types import Ge, Gt, Le, MaxLen, MinLen

from checks.backend import Backend
from checks.base import Check, CheckConfig, CheckContext
from checks.equipment import oids
from checks.equipment.printer import evaluate_printer, parse_printer
from checks.equipment.profiles import (
    CHECK_ID,
    DeviceKind,
    Identity,
    answering_mibs,
    detect_kind,
    device_result,
    parse_identity,
)
from checks.equipment.snmp_client import (
    AuthProto,
    PrivProto,
    SnmpError,
    SnmpTarget,
    open_session,
    snmp_engine,
)
from checks.equipment.switch import Poll, evaluate_switch, parse_switch
from checks.equipment.ups import evaluate_ups, parse_ups, profile_for
from checks.messages import kept, msg, said
from checks.model import Category, CheckResult, MessageRef, Status, Value
from checks.schema import STRICT, After, Before, Doc, Record, Secret

KindOption = Literal["auto", "printer", "ups", "switch", "router", "host"]


def _version(v: Any) -> Any:
    # YAML reads `version: 3` as an integer.
    return str(v) if isinstance(v, int) else v


def _reveal(secret: Secret | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None


@dataclass(frozen=True, kw_only=True)
class SnmpDevice(Record):
    """One device on the commune LAN. Keys and communities are secrets: never logged."""

    __pydantic_config__ = STRICT

    name: Annotated[str, MinLen(1), MaxLen(64), Doc("label shown as the target")]
    host: Annotated[str, MinLen(1), MaxLen(253)]
    port: Annotated[int, Ge(1), Le(65535)] = 161
    kind: KindOption = "auto"
    version: Annotated[Literal["2c", "3"], Before(_version)] = "2c"
    community: Secret | None = None
    user: Annotated[str, MaxLen(32)] | None = None
    auth_key: Secret | None = None
    priv_key: Secret | None = None
    auth_proto: AuthProto = "SHA"
    priv_proto: PrivProto = "AES"
    context: Annotated[str, MaxLen(64), Doc("SNMPv3 context name")] = ""
    timeout_s: Annotated[float, Gt(0), Le(60), Doc("per request try")] = 2.0
    retries: Annotated[int, Ge(0), Le(5)] = 1
    uplinks: Annotated[
        list[str],
        Doc("switch/router ports (ifName, ifDescr, ifAlias or ifIndex) that must be up"),
    ] = field(default_factory=list)

    def __post_init__(self) -> None:
        """The credentials a version needs (run after pydantic's validation, and on plain
        construction)."""
        if self.version == "2c" and not self.community:
            raise ValueError(f"device {self.name!r}: version 2c needs a community")
        if self.version == "3":
            if not self.user:
                raise ValueError(f"device {self.name!r}: version 3 needs a user")
            if self.priv_key and not self.auth_key:
                raise ValueError(f"device {self.name!r}: priv_key needs auth_key (authPriv)")
            for key in (self.auth_key, self.priv_key):
                if key is not None and len(key.get_secret_value()) < 8:
                    raise ValueError(
                        f"device {self.name!r}: SNMPv3 keys must have at least 8 characters"
                    )

    @property
    def budget_s(self) -> float:
        return self.timeout_s * (self.retries + 1)

    def target(self) -> SnmpTarget:
        return SnmpTarget(
            host=self.host,
            port=self.port,
            version=self.version,
            community=_reveal(self.community) or "",
            user=self.user or "",
            auth_key=_reveal(self.auth_key),
            priv_key=_reveal(self.priv_key),
            auth_proto=self.auth_proto,
            priv_proto=self.priv_proto,
            context=self.context,
            timeout_s=self.timeout_s,
            retries=self.retries,
        )


def _unique(v: list[SnmpDevice]) -> list[SnmpDevice]:
    seen: set[str] = set()
    for d in v:
        if d.name in seen:
            raise ValueError(f"device name {d.name!r} used twice")
        seen.add(d.name)
    return v


@dataclass(frozen=True, kw_only=True)
class SnmpConfig(CheckConfig):
    timeout_s: Annotated[
        float, Gt(0), Le(300), Doc("deadline of polling every device (in parallel)")
    ] = 30.0
    devices: Annotated[list[SnmpDevice], After(_unique)] = field(default_factory=list)
    max_rows: Annotated[
        int, Ge(1), Le(100_000), Doc("rows read per walked column (huge chassis)")
    ] = 5000


@dataclass(frozen=True)
class DevicePoll:
    kind: DeviceKind
    result: CheckResult
    poll: Poll | None = None


@dataclass
class Progress:
    """How far a poll got, readable when its deadline cancels it: the kind the device
    answered as (once detected or configured) and the values read so far."""

    kind: DeviceKind | None = None
    session: Any = None

    @property
    def rows(self) -> int:
        return int(getattr(self.session, "rows", 0))


def _unknown(kind: DeviceKind, name: str, reason: str | MessageRef, elapsed: float) -> CheckResult:
    return CheckResult(
        check=CHECK_ID[kind],
        category=Category.EQUIPMENT,
        target=name,
        status=Status.UNKNOWN,
        duration_s=elapsed,
        **said(reason),
    )


def evaluate_host(identity: Identity, target: str, kind: DeviceKind) -> CheckResult:
    values = {}
    if identity.uptime_s is not None:
        values["uptime"] = Value(value=identity.uptime_s, unit="seconds")
    descr = identity.descr.splitlines()[0][:120] if identity.descr else ""
    up = "_up" if identity.uptime_s is not None else ""
    text = msg(
        f"eq.snmp.{'identity' if descr else 'no_descr'}{up}", descr=descr, uptime=identity.uptime_s
    )
    return device_result(CHECK_ID[kind], target)(Status.OK, text, values)


async def _probe_tables(session: Any, identity: Identity) -> Identity:
    """The identity with the MIBs whose tables answer (one row of each is enough)."""
    rows = []
    for table in oids.IDENTITY_TABLES:
        rows.extend(await session.walk(table, max_rows=1))
    found = answering_mibs({}, rows)
    return replace(identity, mibs=identity.mibs | found)


async def poll_device(
    target: SnmpTarget,
    name: str,
    kind: DeviceKind | None = None,
    *,
    uplinks: tuple[str, ...] | list[str] = (),
    previous: Poll | None = None,
    max_rows: int = 5000,
    fallback_kind: DeviceKind = DeviceKind.UNKNOWN,
    engine: Any = None,
    progress: Progress | None = None,
) -> DevicePoll:
    """Identify (unless ``kind`` is given) and read one device; never raises.

    ``fallback_kind`` names the check id of an ``unknown`` result when the device is silent
    and ``kind`` is not configured (the kind it last answered as). ``engine``: a shared
    pysnmp engine (:func:`snmp_client.snmp_engine`), else one of its own.
    """
    start = time.monotonic()
    progress = progress if progress is not None else Progress()
    progress.kind = kind
    try:
        async with open_session(target, engine) as session:
            progress.session = session
            identity = parse_identity(await session.get(oids.IDENTITY))
            if kind is None:
                if not identity.answered:
                    # An answer with no object at all: restricted view, or not SNMP-managed.
                    reason = msg("eq.snmp.no_system")
                    return DevicePoll(
                        DeviceKind.UNKNOWN,
                        _unknown(fallback_kind, name, reason, time.monotonic() - start),
                    )
                identity = await _probe_tables(session, identity)
                kind = progress.kind = detect_kind(identity)
            if kind is DeviceKind.PRINTER:
                rows = await session.walk_many(
                    (*oids.PRINTER_COLUMNS, oids.HR_DEVICE_STATUS), max_rows
                )
                result = evaluate_printer(parse_printer(rows), name)
                poll = None
            elif kind is DeviceKind.UPS:
                profile = profile_for(identity.mibs)
                ups = parse_ups(await session.get(profile.scalars), profile)
                result = evaluate_ups(ups, name)
                poll = None
            elif kind in (DeviceKind.SWITCH, DeviceKind.ROUTER):
                section = parse_switch(await session.walk_many(oids.SWITCH_COLUMNS, max_rows))
                poll = Poll(section, time.monotonic(), identity.agent_uptime_s)
                result = evaluate_switch(
                    section, name, uplinks=uplinks, previous=previous, current=poll
                )
            else:
                result = evaluate_host(identity, name, kind)
                poll = None
    except SnmpError as exc:
        return DevicePoll(
            DeviceKind.UNKNOWN if kind is None else kind,
            _unknown(
                kind or fallback_kind,
                name,
                msg("eq.snmp.error", detail=kept(exc.said.id, exc.said.params, exc.reason)),
                time.monotonic() - start,
            ),
        )
    except Exception as exc:  # a malformed answer must not cost the other devices
        reason = msg("eq.snmp.unreadable", detail=f"{type(exc).__name__}: {exc}")
        return DevicePoll(
            kind or DeviceKind.UNKNOWN,
            _unknown(kind or fallback_kind, name, reason, time.monotonic() - start),
        )
    message = f"{kind.value}: {result.message}" if result.message else kind.value
    result = result.model_copy(
        update={"message": message[:1000], "duration_s": time.monotonic() - start}
    )
    return DevicePoll(kind, result, poll)


class SnmpCheck(Check):
    """Polls every configured SNMP device in parallel (``eq.printer``/``ups``/``switch``/
    ``snmp_host`` results, one per device)."""

    id = "eq.snmp"
    category = Category.EQUIPMENT
    Config: ClassVar[type[CheckConfig]] = SnmpConfig
    config: SnmpConfig

    def __init__(self, config: CheckConfig | None = None, backend: Backend | None = None) -> None:
        super().__init__(config, backend)
        #: Kind each auto-detected device last answered as, and its last switch poll.
        self._kinds: dict[str, DeviceKind] = {}
        self._polls: dict[str, Poll] = {}
        #: Kind of each device in the last cycle (unknown when it could not be told).
        self.polled_kinds: dict[str, DeviceKind] = {}

    def targets(self) -> list[str]:
        return [d.name for d in self.config.devices] or [""]

    def _kind(self, device: SnmpDevice) -> DeviceKind | None:
        return None if device.kind == "auto" else DeviceKind(device.kind)

    async def _one(self, device: SnmpDevice, engine: Any) -> DevicePoll:
        kind = self._kind(device)
        fallback = self._kinds.get(device.name, DeviceKind.UNKNOWN)
        # Inside the check's own deadline, so a slow device is reported under its own id.
        deadline = max(self.config.timeout_s - 1.0, self.config.timeout_s * 0.9)
        progress = Progress()
        try:
            polled = await asyncio.wait_for(
                poll_device(
                    device.target(),
                    device.name,
                    kind,
                    uplinks=device.uplinks,
                    previous=self._polls.get(device.name),
                    max_rows=self.config.max_rows,
                    fallback_kind=fallback,
                    engine=engine,
                    progress=progress,
                ),
                deadline,
            )
        except TimeoutError:
            return self._overran(device, progress, fallback, deadline)
        if polled.kind is not DeviceKind.UNKNOWN and polled.result.status is not Status.UNKNOWN:
            self._kinds[device.name] = polled.kind
        if polled.poll is not None:
            self._polls[device.name] = polled.poll
        return polled

    def _overran(
        self, device: SnmpDevice, progress: Progress, fallback: DeviceKind, deadline: float
    ) -> DevicePoll:
        """A poll cut by the check's deadline: ``unknown`` under the id of the kind the
        device answered as in this poll (else configured, else last known), saying how far
        the reading got."""
        kind = progress.kind
        if kind is not None and kind is not DeviceKind.UNKNOWN and device.kind == "auto":
            self._kinds[device.name] = kind
        reason = (
            msg("eq.snmp.slow_rows", seconds=deadline, rows=progress.rows)
            if progress.rows
            else msg("eq.snmp.slow", seconds=deadline)
        )
        result = _unknown(kind or fallback, device.name, reason, deadline)
        return DevicePoll(kind or DeviceKind.UNKNOWN, result)

    async def fetch(self, ctx: CheckContext) -> list[DevicePoll]:
        """Poll every device; a device's reading is judged as soon as it is read (its kind
        decides what is read), so each poll already holds its result."""
        if not self.config.devices:
            return []  # no SNMP equipment configured: nothing to report, nothing imported
        async with snmp_engine() as engine:  # one engine per cycle for every device
            polls = await asyncio.gather(*(self._one(d, engine) for d in self.config.devices))
        self.polled_kinds = {
            d.name: p.kind for d, p in zip(self.config.devices, polls, strict=True)
        }
        return list(polls)

    def evaluate(self, section: list[DevicePoll]) -> list[CheckResult]:
        return [p.result for p in section]
