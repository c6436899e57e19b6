"""``net.interfaces``: link state and negotiated speed of the network interfaces (psutil),
and the dedicated-network interface when configured (NET-01 evidence).

fetch: ``psutil.net_if_stats()`` (cross-platform). parse: a frozen section per interface.
evaluate:

* configured interfaces (``interfaces`` and ``dedicated_interface``) must exist and be up:
  missing or down -> fail; the negotiated speed is the ``link_speed`` value, judged by the
  catalogue (a province that expects e.g. 100 Mbit/s sets it in its ``levels:``);
* with no list, every non-loopback interface is reported: up -> ok, down -> warn, except
  where down is normal (ok, "not in use"): virtual, container and hypervisor adapters and
  bridges that have no carrier until something attaches (Linux ``ifb*``, ``veth*``,
  ``docker*``, ``virbr*``, ``br-*``, ...; Windows "vEthernet (...)", Hyper-V, VMware,
  VirtualBox, Wi-Fi Direct "... * 2"), Bluetooth network adapters, and Wi-Fi while another
  interface is up (a wired PC). Names are Windows' connection names too, in any display
  language ("Kết nối mạng Bluetooth");
* a speed the driver does not report (0, virtual NICs) gives no ``link_speed`` value;
* ``dedicated_route`` (an address on the provincial network, e.g. the collector's): the
  longest-prefix route to it must leave through ``dedicated_interface``, else fail (traffic
  to the province would go over the internet); an unreadable routing table is unknown.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar

import psutil

from checks.backend import BackendError, Route
from checks.base import Check, CheckConfig, CheckContext
from checks.messages import msg, said
from checks.model import Category, CheckResult, Status, Value
from checks.schema import After, Doc

#: The routing table, the error reading it, or None when no dedicated route is configured.
_Routes = list[Route] | BackendError | None


@dataclass(frozen=True)
class Link:
    name: str
    up: bool
    speed_bps: float | None  # None: not reported by the driver


def parse_interfaces(stats: dict[str, Any]) -> dict[str, Link]:
    """From ``psutil.net_if_stats()``: ``isup``, ``speed`` in Mbit/s (0 = unknown)."""
    out = {}
    for name, st in stats.items():
        speed = float(getattr(st, "speed", 0) or 0)
        out[name] = Link(name, bool(st.isup), speed * 1e6 if speed > 0 else None)
    return out


def _is_loopback(name: str) -> bool:
    return name == "lo" or name.lower().startswith("loopback")


#: Interfaces for which "down" is normal, by name (lower-cased): Linux prefixes, and words
#: of Windows adapter names (kept by Windows in every display language: product names).
_VIRTUAL_PREFIXES = (
    "ifb", "veth", "docker", "virbr", "br-", "vnet", "vmnet", "vboxnet", "lxcbr", "lxdbr",
    "dummy", "bnep", "cni", "flannel", "kube-", "tap", "tun", "wg", "zt",
)  # fmt: skip
_VIRTUAL_WORDS = (
    "bluetooth", "vethernet", "hyper-v", "vmware", "virtualbox", "isatap", "teredo",
    "npcap", "tap-windows", "wintun",
)  # fmt: skip
#: Windows names its Wi-Fi Direct virtual adapters "Local Area Connection* 2" (translated
#: before the star): the star and number are the same in every language.
_WIFI_DIRECT = re.compile(r"\* ?\d+$")
_WIFI_PREFIXES = ("wl",)  # Linux: wlan0, wlp2s0, wlx...
_WIFI_WORDS = ("wi-fi", "wifi", "wlan", "wireless")


def interface_kind(name: str) -> str:
    """'virtual' (down by design or of no concern), 'wifi', or '' (a wired interface)."""
    low = name.lower()
    if (
        low.startswith(_VIRTUAL_PREFIXES)
        or any(w in low for w in _VIRTUAL_WORDS)
        or _WIFI_DIRECT.search(low)
    ):
        return "virtual"
    if low.startswith(_WIFI_PREFIXES) or any(w in low for w in _WIFI_WORDS):
        return "wifi"
    return ""


def _down(name: str, links: dict[str, Link], required: bool) -> tuple[Status, str, str]:
    """Status, message id (under ``net.interfaces.``) and the up interfaces it names, of
    an interface that is down."""
    if required:
        return Status.FAIL, "down", ""
    kind = interface_kind(name)
    if kind == "virtual":
        return Status.OK, "down_virtual", ""
    others = sorted(
        n
        for n, link in links.items()
        if link.up and n != name and not _is_loopback(n) and interface_kind(n) != "virtual"
    )
    if kind == "wifi" and others:
        return Status.OK, "down_wifi", ", ".join(others)
    return Status.WARN, "down", ""


def _route(v: str | None) -> str | None:
    if v is not None:
        ipaddress.IPv4Address(v)  # ValueError names the bad address
    return v


@dataclass(frozen=True, kw_only=True)
class InterfacesConfig(CheckConfig):
    interfaces: Annotated[list[str], Doc("interfaces that must be up (default: report all)")] = (
        field(default_factory=list)
    )
    dedicated_interface: Annotated[
        str | None, Doc("interface of the dedicated data network (must be up)")
    ] = None
    dedicated_route: Annotated[
        str | None,
        After(_route),
        Doc("IPv4 address that must be routed via dedicated_interface"),
    ] = None

    def __post_init__(self) -> None:
        if self.dedicated_route and not self.dedicated_interface:
            raise ValueError("dedicated_route needs dedicated_interface")


def route_for(routes: list[Route], destination: str) -> Route | None:
    """The route the kernel would pick: longest prefix, then lowest metric."""
    dest = int(ipaddress.IPv4Address(destination))
    best: Route | None = None
    best_key: tuple[int, int] | None = None
    for r in routes:
        if not r.up:
            continue
        mask = int(ipaddress.IPv4Address(r.mask))
        if dest & mask != int(ipaddress.IPv4Address(r.destination)) & mask:
            continue
        key = (bin(mask).count("1"), -r.metric)
        if best_key is None or key > best_key:
            best, best_key = r, key
    return best


def evaluate_route(
    route: Route | None, cfg: InterfacesConfig, check_id: str = "net.interfaces"
) -> CheckResult:
    target = f"route:{cfg.dedicated_route}"
    want = cfg.dedicated_interface
    if route is None:
        return CheckResult(
            check=check_id,
            category=Category.NETWORK,
            target=target,
            status=Status.FAIL,
            values={"route_via_dedicated": Value(value=0.0)},
            **said(msg("net.route.none", destination=cfg.dedicated_route)),
        )
    via = route.gateway if route.is_gateway else ""
    ok = route.interface == want
    kind = ("net.route.via" if ok else "net.route.leaves") + ("" if via else "_direct")
    return CheckResult(
        check=check_id,
        category=Category.NETWORK,
        target=target,
        status=Status.OK if ok else Status.FAIL,
        values={"route_via_dedicated": Value(value=1.0 if ok else 0.0)},
        **said(msg(kind, interface=route.interface, gateway=via, dedicated=want)),
    )


def evaluate_interfaces(
    links: dict[str, Link], cfg: InterfacesConfig, check_id: str = "net.interfaces"
) -> list[CheckResult]:
    required = list(
        dict.fromkeys(
            [*cfg.interfaces, *([cfg.dedicated_interface] if cfg.dedicated_interface else [])]
        )
    )
    names = required or sorted(n for n in links if not _is_loopback(n))
    results = []
    for name in names:
        role = "_dedicated" if name == cfg.dedicated_interface else ""
        link = links.get(name)
        if link is None:
            known = ", ".join(sorted(links)) or "—"
            results.append(
                CheckResult(
                    check=check_id,
                    category=Category.NETWORK,
                    target=name,
                    status=Status.FAIL,
                    values={"link_up": Value(value=0.0)},
                    **said(msg(f"net.interfaces.missing{role}", present=known)),
                )
            )
            continue
        values = {"link_up": Value(value=1.0 if link.up else 0.0)}
        if link.speed_bps is not None:
            values["link_speed"] = Value(value=link.speed_bps, unit="bits_per_second")
        if not link.up:
            status, kind, others = _down(name, links, bool(required))
            message = msg(f"net.interfaces.{kind}{role}", others=others)
        elif link.speed_bps:
            status = Status.OK
            message = msg(f"net.interfaces.up_speed{role}", speed=link.speed_bps)
        else:
            status, message = Status.OK, msg(f"net.interfaces.up{role}")
        results.append(
            CheckResult(
                check=check_id,
                category=Category.NETWORK,
                target=name,
                status=status,
                values=values,
                **said(message),
            )
        )
    if not results:
        none = msg("net.interfaces.none")
        results.append(
            CheckResult(
                check=check_id, category=Category.NETWORK, status=Status.UNKNOWN, **said(none)
            )
        )
    return results


class InterfacesCheck(Check):
    id = "net.interfaces"
    category = Category.NETWORK
    Config: ClassVar[type[CheckConfig]] = InterfacesConfig
    config: InterfacesConfig

    def targets(self) -> list[str]:
        named = [*self.config.interfaces]
        if self.config.dedicated_interface:
            named.append(self.config.dedicated_interface)
        if self.config.dedicated_route:
            named.append(f"route:{self.config.dedicated_route}")
        return list(dict.fromkeys(named)) or [""]

    async def fetch(self, ctx: CheckContext) -> tuple[dict[str, Any], _Routes]:
        """Interface statistics, and the routing table when a dedicated route is configured
        (or the error reading it: only that result is then unknown)."""
        stats = await asyncio.to_thread(psutil.net_if_stats)
        if not self.config.dedicated_route:
            return stats, None
        try:
            return stats, await asyncio.to_thread(self.backend.routes)
        except BackendError as exc:
            return stats, exc

    def parse(self, raw: tuple[dict[str, Any], _Routes]) -> tuple[dict[str, Link], _Routes]:
        return parse_interfaces(raw[0]), raw[1]

    def evaluate(self, section: tuple[dict[str, Link], _Routes]) -> list[CheckResult]:
        links, routes = section
        results = evaluate_interfaces(links, self.config, self.id)
        destination = self.config.dedicated_route
        if destination is None:
            return results
        if isinstance(routes, BackendError):
            results.append(
                self.unknown(
                    msg("check.not_supported", detail=str(routes)), target=f"route:{destination}"
                )
            )
        else:
            results.append(
                evaluate_route(route_for(routes or [], destination), self.config, self.id)
            )
        return results
