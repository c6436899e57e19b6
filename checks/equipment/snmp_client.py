"""The only module that imports pysnmp (7.x, asyncio API), and only when a request is made.

The agent stays light when no SNMP device is configured: importing this module costs nothing;
pysnmp (and, for SNMPv3 privacy, cryptography) is imported by the first :func:`open_session`.

Values come back as plain Python: ``int`` for every integer type (Integer32, Counter32/64,
Gauge32, TimeTicks, Unsigned32), ``bytes`` for OCTET STRING, ``str`` for an OBJECT IDENTIFIER
or an IpAddress, ``None`` for NoSuchObject / NoSuchInstance / EndOfMibView (a missing value
is not an error: RFC 3416 4.2.1). Parse functions take exactly these rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from checks.messages import msg, render
from checks.model import MessageRef
from checks.resolve import Unresolved, reason_message, resolve_one

SnmpValue = int | bytes | str | None
Row = tuple[str, SnmpValue]

AuthProto = Literal["SHA", "SHA224", "SHA256", "SHA384", "SHA512", "MD5"]
PrivProto = Literal["AES", "AES128", "AES192", "AES256", "DES"]

#: pysnmp attribute of each protocol name (resolved lazily).
_AUTH = {
    "MD5": "usmHMACMD5AuthProtocol",
    "SHA": "usmHMACSHAAuthProtocol",
    "SHA224": "usmHMAC128SHA224AuthProtocol",
    "SHA256": "usmHMAC192SHA256AuthProtocol",
    "SHA384": "usmHMAC256SHA384AuthProtocol",
    "SHA512": "usmHMAC384SHA512AuthProtocol",
}
_PRIV = {
    "DES": "usmDESPrivProtocol",
    "AES": "usmAesCfb128Protocol",
    "AES128": "usmAesCfb128Protocol",
    "AES192": "usmAesCfb192Protocol",
    "AES256": "usmAesCfb256Protocol",
}


#: Wall-clock slack over timeout x (retries + 1) before a request is abandoned. pysnmp counts
#: its timeouts in timer ticks, which run late on a busy machine (measured: +0.8 s for 2 s
#: under load); the hard bound keeps the promised deadline.
GRACE_S = 0.25


class SnmpError(Exception):
    """The device could not be read: ``said``, a catalogue message for the operator;
    ``reason`` is its English text."""

    def __init__(self, said: MessageRef) -> None:
        self.said = said
        self.reason = render(said, "en")
        super().__init__(self.reason)


class SnmpUnresolved(SnmpError):
    """The device's name did not resolve (or its resolver did not answer) in time."""


class SnmpTimeout(SnmpError):
    """No (valid) answer within timeout x (retries + 1)."""


@dataclass(frozen=True)
class SnmpTarget:
    """Where and how to ask. Secrets are fields here and nowhere else (``repr`` hides them)."""

    host: str
    port: int = 161
    version: Literal["2c", "3"] = "2c"
    community: str = field(default="public", repr=False)
    user: str = ""
    auth_key: str | None = field(default=None, repr=False)
    priv_key: str | None = field(default=None, repr=False)
    auth_proto: AuthProto = "SHA"
    priv_proto: PrivProto = "AES"
    context: str = ""
    timeout_s: float = 2.0
    retries: int = 1
    max_repetitions: int = 25

    @property
    def budget_s(self) -> float:
        """Longest one request may take before it is a timeout."""
        return self.timeout_s * (self.retries + 1)

    def timeout_reason(self, rows: int = 0) -> MessageRef:
        """Why a request got no answer; ``rows``: values the device gave before it fell silent
        (then the credentials were right: it stopped answering, it was not refused)."""
        waited = {"seconds": self.budget_s, "tries": self.retries + 1, "each": self.timeout_s}
        if rows:
            return msg("eq.snmp.stopped", rows=rows, **waited)
        who = "credentials" if self.version == "3" else "community"
        return msg(f"eq.snmp.timeout_{who}", **waited)


def convert(value: Any) -> SnmpValue:
    """A pysnmp/pyasn1 value as plain Python (see the module docstring)."""
    from pyasn1.type import univ
    from pysnmp.proto import rfc1902, rfc1905

    if isinstance(value, rfc1905.NoSuchObject | rfc1905.NoSuchInstance | rfc1905.EndOfMibView):
        return None
    if isinstance(value, univ.Null):
        return None
    if isinstance(value, rfc1902.IpAddress):
        return ".".join(str(b) for b in value.asOctets())
    if isinstance(value, univ.OctetString):
        return bytes(value.asOctets())
    if isinstance(value, univ.ObjectIdentifier):
        return ".".join(str(x) for x in value)
    if isinstance(value, univ.Integer):
        return int(value)
    return None


#: pysnmp's error indications of a device that answered but refused the request (RFC 3414
#: USM reports), each a message of the catalogue; any other is said with pysnmp's words.
_REASONS = {
    "UnknownUserName": "eq.snmp.refused.unknown_user",
    "WrongDigest": "eq.snmp.refused.wrong_auth_key",
    "DecryptionError": "eq.snmp.refused.wrong_priv_key",
    "UnsupportedSecurityLevel": "eq.snmp.refused.security_level",
    "NotInTimeWindow": "eq.snmp.refused.time_window",
    "UnknownEngineID": "eq.snmp.refused.unknown_engine",
    "UnknownSecurityName": "eq.snmp.refused.unknown_security_name",
}

#: RFC 3416 error-status of a response PDU that refuses access: the device knows the
#: credentials but its access control (VACM) gives them no view of what was asked.
_ACCESS_DENIED = {6: "noAccess", 16: "authorizationError"}


class SnmpSession:
    """One engine and one transport to one device; use through :func:`open_session`."""

    def __init__(self, target: SnmpTarget, engine: Any, auth: Any, transport: Any) -> None:
        self.target = target
        self._engine = engine
        self._auth = auth
        self._transport = transport
        from pysnmp.hlapi.v3arch.asyncio import ContextData

        self._context = ContextData(contextName=target.context.encode())
        #: Values the device has given so far (a timeout after some is "stopped answering").
        self.rows = 0

    async def _bounded(self, awaitable: Any) -> Any:
        try:
            return await asyncio.wait_for(awaitable, self.target.budget_s + GRACE_S)
        except TimeoutError:
            raise SnmpTimeout(self.target.timeout_reason(self.rows)) from None

    def _fail(self, error_indication: Any) -> SnmpError:
        name = type(error_indication).__name__
        if name == "RequestTimedOut":
            return SnmpTimeout(self.target.timeout_reason(self.rows))
        id = _REASONS.get(name)
        if id is None:
            return SnmpError(msg("eq.snmp.refused.other", detail=str(error_indication)))
        return SnmpError(msg(id))

    def _denied(self, err_status: Any) -> SnmpError | None:
        name = _ACCESS_DENIED.get(int(err_status))
        if name is None:
            return None
        who = "user" if self.target.version == "3" else "community"
        return SnmpError(msg(f"eq.snmp.denied_{who}", status=name))

    async def get(self, oids: tuple[str, ...] | list[str]) -> dict[str, SnmpValue]:
        """GET the given instances; a missing one maps to ``None``."""
        from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType, get_cmd

        err_ind, err_status, err_index, var_binds = await self._bounded(
            get_cmd(
                self._engine,
                self._auth,
                self._transport,
                self._context,
                *(ObjectType(ObjectIdentity(o)) for o in oids),
                lookupMib=False,
            )
        )
        if err_ind:
            raise self._fail(err_ind)
        out: dict[str, SnmpValue] = dict.fromkeys(oids)
        if err_status and (denied := self._denied(err_status)) is not None:
            raise denied
        if err_status:
            # v2c/v3 agents should answer per varbind; an error status (tooBig, genErr) on a
            # multi-OID GET is retried one OID at a time so that one bad object costs only
            # itself (degrade to partial data).
            if len(oids) == 1:
                return out
            for oid in oids:
                out.update(await self.get([oid]))
            return out
        for oid, value in var_binds:
            out[str(oid)] = convert(value)
        self.rows += sum(v is not None for v in out.values())
        return out

    async def walk(self, prefix: str, max_rows: int = 5000) -> list[Row]:
        """Bulk-walk the subtree under ``prefix`` (``lexicographicMode=False``)."""
        from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType, bulk_walk_cmd

        rows: list[Row] = []
        stem = prefix + "."
        pages = bulk_walk_cmd(
            self._engine,
            self._auth,
            self._transport,
            self._context,
            0,
            self.target.max_repetitions,
            ObjectType(ObjectIdentity(prefix)),
            lexicographicMode=False,
            lookupMib=False,
        )
        try:
            while len(rows) < max_rows:
                try:  # each page is one request, each under the deadline
                    err_ind, err_status, _idx, var_binds = await self._bounded(pages.__anext__())
                except StopAsyncIteration:
                    break
                if err_ind:
                    raise self._fail(err_ind)
                if err_status and (denied := self._denied(err_status)) is not None:
                    raise denied
                if err_status:
                    break
                for oid, value in var_binds:
                    name = str(oid)
                    if not name.startswith(stem):
                        return rows
                    converted = convert(value)
                    if converted is not None:
                        rows.append((name, converted))
                        self.rows += 1
        finally:
            await pages.aclose()
        return rows

    async def walk_many(self, prefixes: tuple[str, ...], max_rows: int = 5000) -> list[Row]:
        rows: list[Row] = []
        for prefix in prefixes:
            rows.extend(await self.walk(prefix, max_rows))
        return rows


def _auth_data(target: SnmpTarget) -> Any:
    import pysnmp.hlapi.v3arch.asyncio as hlapi

    if target.version == "2c":
        # v2c is what most commune printers and UPS cards speak; v3 is offered where they can.
        return hlapi.CommunityData(target.community, mpModel=1)  # noqa: S508
    auth_proto = getattr(hlapi, _AUTH[target.auth_proto]) if target.auth_key else None
    priv_proto = getattr(hlapi, _PRIV[target.priv_proto]) if target.priv_key else None
    return hlapi.UsmUserData(
        target.user,
        authKey=target.auth_key,
        privKey=target.priv_key,
        authProtocol=auth_proto,
        privProtocol=priv_proto,
    )


@contextlib.asynccontextmanager
async def snmp_engine() -> AsyncIterator[Any]:
    """One pysnmp engine (imports pysnmp); its dispatcher is closed on exit.

    Creating an engine costs 0.3-0.5 s of CPU (pysnmp executes its core MIB modules for
    each one), so a check cycle shares one engine between all its devices.
    """
    import pysnmp.hlapi.v3arch.asyncio as hlapi

    engine = hlapi.SnmpEngine()
    try:
        yield engine
    finally:
        engine.close_dispatcher()


@contextlib.asynccontextmanager
async def open_session(target: SnmpTarget, engine: Any = None) -> AsyncIterator[SnmpSession]:
    """An SNMP session to ``target`` on ``engine`` (default: its own engine, closed on exit)."""
    import pysnmp.hlapi.v3arch.asyncio as hlapi

    async with contextlib.AsyncExitStack() as stack:
        if engine is None:
            engine = await stack.enter_async_context(snmp_engine())
        try:  # the name is resolved here, under the request's deadline
            family, (address, _) = await resolve_one(
                target.host, target.port, target.budget_s, socket.SOCK_DGRAM
            )
        except Unresolved as exc:
            raise SnmpUnresolved(reason_message(exc.reason)) from None
        v6 = family == socket.AF_INET6
        cls = hlapi.Udp6TransportTarget if v6 else hlapi.UdpTransportTarget
        try:
            transport = await cls.create(
                (address, target.port), timeout=target.timeout_s, retries=target.retries
            )
        except Exception as exc:  # a bad address
            raise SnmpError(
                msg("eq.snmp.cannot_reach", host=target.host, detail=str(exc))
            ) from None
        yield SnmpSession(target, engine, _auth_data(target), transport)
