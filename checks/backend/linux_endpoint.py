"""Linux facts for the signature and endpoint-security checks: USB devices, firewall.

Pure parsers (``parse_nft_ruleset``, ``parse_table_names``) are tested with recorded text;
the readers take their roots (``sys``, ``proc``, file paths) so tests can point them at
fixture directories. :class:`checks.backend.linux.LinuxBackend` delegates here.

Firewall heuristics (SEC-01; a heuristic, so the result message says which one decided):

1. ``nft list ruleset`` (nftables, the Debian/Ubuntu default since Debian 10; also where
   ``iptables-nft`` keeps its rules). The host firewall is **on** when a base chain hooked
   on ``input`` has a ``drop`` policy or at least one rule; **off** when the ruleset has no
   such chain or only empty accept-all ones (Debian's stock ``/etc/nftables.conf``). Only
   the ``input`` hook counts: Docker's ``forward`` rules do not protect the host.
   "Operation not permitted" (not root, no CAP_NET_ADMIN) -> cannot tell.
2. Without a usable ``nft``: ``/proc/net/ip_tables_names`` (legacy iptables). The kernel
   creates a table when the first rule needs it, so a ``filter`` table means rules were
   configured -> **on**. An empty file says nothing about nftables: then **off** only when
   the ``nf_tables`` kernel module is not loaded (``/sys/module`` lists modules, and
   ``nf_tables`` is not among them), else cannot tell.
3. Unreadable files (no permission) -> cannot tell (``unknown``), never "off".

Updates: see :mod:`checks.backend.linux_updates`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from checks.backend import BackendError, FirewallState, UsbDevice

# --------------------------------------------------------------------------- USB


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def read_usb_devices(sys_root: Path) -> list[UsbDevice]:
    """Every USB device under ``/sys/bus/usb/devices`` that has idVendor/idProduct.

    Interface entries (``1-1:1.0``) carry no ids and are skipped; hubs are included (the
    caller matches ids).
    """
    root = sys_root / "bus" / "usb" / "devices"
    if not root.exists():
        return []  # no USB bus at all (a VM without a controller): no token
    out: list[UsbDevice] = []
    try:
        entries = sorted(root.iterdir())
    except OSError as exc:
        raise BackendError(f"cannot list {root}: {exc.strerror}") from exc
    for entry in entries:
        vendor = _read(entry / "idVendor")
        product = _read(entry / "idProduct")
        if not vendor or not product:
            continue
        out.append(
            UsbDevice(
                vendor_id=vendor.lower(),
                product_id=product.lower(),
                manufacturer=_read(entry / "manufacturer") or "",
                product=_read(entry / "product") or "",
                where=entry.name,
            )
        )
    return out


# --------------------------------------------------------------------------- firewall


@dataclass
class _Chain:
    name: str
    hook: str | None = None
    policy: str = "accept"
    rules: int = 0


def _read_chain_type(chain: _Chain, line: str) -> None:
    """``type filter hook input priority 0; policy drop;``: the chain's hook and policy."""
    words = line.replace(";", " ").split()
    if "hook" in words[:-1]:
        chain.hook = words[words.index("hook") + 1]
    if "policy" in words[:-1]:
        chain.policy = words[words.index("policy") + 1]


def _nft_chains(text: str) -> list[_Chain]:
    """The chains of ``nft list ruleset`` output, with their hook, policy and rule count."""
    chains: list[_Chain] = []
    current: _Chain | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("chain ") and line.endswith("{"):
            current = _Chain(line.split()[1])
            chains.append(current)
        elif current is None:
            continue
        elif line == "}":
            current = None
        elif line.startswith("type "):
            _read_chain_type(current, line)
        else:
            current.rules += 1
    return chains


def parse_nft_ruleset(text: str) -> FirewallState:
    """Decide from ``nft list ruleset`` output (see the module docstring, heuristic 1)."""
    chains = _nft_chains(text)
    inputs = [c for c in chains if c.hook == "input"]
    active = [c for c in inputs if c.policy == "drop" or c.rules > 0]
    if active:
        rules = sum(c.rules for c in active)
        drop = any(c.policy == "drop" for c in active)
        return FirewallState(
            True,
            f"nftables: input chain with {rules} rule(s)" + (", policy drop" if drop else ""),
        )
    if inputs:
        return FirewallState(False, "nftables: input chain accepts everything (no rules)")
    return FirewallState(False, "nftables: no input chain" if chains else "nftables: empty")


def parse_table_names(text: str) -> set[str]:
    """``/proc/net/ip_tables_names``: one loaded legacy iptables table per line."""
    return {line.strip() for line in text.splitlines() if line.strip()}


def _nft(nft: str, timeout_s: float) -> FirewallState | str:
    """Run ``nft list ruleset``: a state, or the reason it could not decide."""
    try:
        done = subprocess.run(
            [nft, "list", "ruleset"],
            capture_output=True,
            timeout=timeout_s,
            check=False,
            env={**os.environ, "LC_ALL": "C"},
        )
    except subprocess.TimeoutExpired:
        return f"nft list ruleset: no answer within {timeout_s:g} s"
    except OSError as exc:
        return f"cannot run nft: {exc.strerror}"
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip().splitlines()
        return "nft list ruleset: " + (err[-1][:200] if err else f"exit {done.returncode}")
    return parse_nft_ruleset(done.stdout[: 4 << 20].decode(errors="replace"))


def read_firewall(
    proc: Path, sys_root: Path, *, nft: str | None = None, timeout_s: float = 3.0
) -> FirewallState:
    """Heuristics 1-3 of the module docstring; raise BackendError when it cannot tell."""
    reasons: list[str] = []
    nft = nft if nft is not None else shutil.which("nft") or ""
    if nft:
        state = _nft(nft, timeout_s)
        if isinstance(state, FirewallState):
            return state
        reasons.append(state)
    else:
        reasons.append("nft not installed")
    names_file = proc / "net" / "ip_tables_names"
    try:
        tables = parse_table_names(names_file.read_text(encoding="ascii", errors="replace"))
    except PermissionError:
        reasons.append(f"{names_file}: permission denied (run the agent as root)")
        raise BackendError("cannot tell whether a firewall is on: " + "; ".join(reasons)) from None
    except OSError as exc:
        reasons.append(f"{names_file}: {exc.strerror}")
        tables = None
    if tables is not None and "filter" in tables:
        return FirewallState(True, "iptables (legacy): filter table loaded")
    modules = sys_root / "module"
    if tables is not None and modules.is_dir() and not (modules / "nf_tables").exists():
        return FirewallState(False, "no iptables filter table and nf_tables not loaded")
    if not modules.is_dir():
        reasons.append(f"{modules} not available (container?)")
    raise BackendError("cannot tell whether a firewall is on: " + "; ".join(reasons))
