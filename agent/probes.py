"""What ``ioc-agent probe CHECK TARGET`` can probe: one row per short name.

A row names the check it runs (looked up in the check registry), the options of its
command line, and how the target and the options become that check's configuration. The
command itself (``agent.cli``) is the same for every row: build the check, run it once
through the normal runner, print the result.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from checks.network.probes import split_host_port

#: CLI options as a probe's ``configure`` gets them (by parameter name).
Options = Mapping[str, Any]


@dataclass(frozen=True)
class Uplink:
    """What a probe may take from the agent's configuration and enrolled state."""

    collector_url: str | None = None
    token: str | None = None
    verify: Any = True


@dataclass(frozen=True)
class Setup:
    """A check configuration (as the YAML section would give it), and what of the agent's
    link to its collector the run may use."""

    config: dict[str, Any]
    uplink: Uplink = Uplink()


@dataclass(frozen=True)
class Probe:
    name: str
    check_id: str
    metavar: str
    summary: str
    configure: Callable[[str | None, Options, Uplink], Setup]
    options: tuple[click.Option, ...] = ()
    target_required: bool = True
    #: Reads the agent's configuration and state (collector URL, token, TLS settings).
    uses_agent: bool = False
    #: Extra fields shown before the result (e.g. the SNMP device kind): (check, target).
    describe: Callable[[Any, str], dict[str, str]] | None = None


def host_port(target: str | None, default_port: int | None, hint: str) -> tuple[str, int]:
    """``split_host_port`` with its reason as a usage error on ``hint``."""
    try:
        return split_host_port(target or "", default_port)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from None


def http_url(url: str, hint: str = "URL") -> str:
    if not url.startswith(("http://", "https://")):
        raise click.BadParameter("must start with http:// or https://", param_hint=hint)
    return url


def _timeout(low: float, high: float, default: float, text: str) -> click.Option:
    return click.Option(
        ["--timeout", "timeout_s"],
        type=click.FloatRange(min=low, max=high),
        default=default,
        show_default=True,
        help=text,
    )


CONFIG_OPTION = click.Option(
    ["--config", "config_path"],
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="IOC_AGENT_CONFIG",
    help="YAML configuration file (default: built-in defaults). Env: IOC_AGENT_CONFIG.",
)

# --------------------------------------------------------------------------- TCP, HTTP


def _tcp(target: str | None, o: Options, _: Uplink) -> Setup:
    host_port(target, None, "HOST:PORT")
    timeout = o["timeout_s"]
    return Setup(
        {"targets": [target], "connect_timeout_s": timeout, "timeout_s": min(300.0, timeout + 1.0)}
    )


def _http(target: str | None, o: Options, _: Uplink) -> Setup:
    url = http_url(target or "")
    timeout = o["timeout_s"]
    return Setup(
        {
            "targets": [{"url": url, "expect": o["expect"]}],
            "request_timeout_s": timeout,
            "timeout_s": min(300.0, timeout + 1.0),
            "verify_tls": not o["insecure"],
            "ca_file": o["ca_file"],
        }
    )


# --------------------------------------------------------------------------- SNMP, SSH


#: Longest try of one SNMP request in a probe (a LAN device answers in milliseconds).
SNMP_TRY_S = 2.0


def _snmp(target: str | None, o: Options, _: Uplink) -> Setup:
    host, port = host_port(target, 161, "HOST[:PORT]")
    if bool(o["community"]) == bool(o["user"]):
        raise click.UsageError("give either --community (v2c) or --v3-user (v3)")
    device = {
        "name": target,
        "host": host,
        "port": port,
        "kind": o["kind"],
        "version": "3" if o["user"] else "2c",
        "community": o["community"],
        "user": o["user"],
        "auth_key": o["auth_key"],
        "priv_key": o["priv_key"],
        "auth_proto": o["auth_proto"],
        "priv_proto": o["priv_proto"],
        "context": o["context"],
        # Each request's tries share the probe's deadline, a try lasting 2 s at most.
        "timeout_s": min(SNMP_TRY_S, o["timeout_s"] / (o["retries"] + 1)),
        "retries": o["retries"],
    }
    # --timeout bounds the whole probe; the check answers 1 s after it at the latest: room
    # for a loaded machine to turn a silent resolver or device into the check's own answer
    # (kind kept) before the runner's deadline answers for it.
    return Setup({"devices": [device], "timeout_s": o["timeout_s"] + 1.0})


def _snmp_kind(check: Any, target: str) -> dict[str, str]:
    from checks.equipment.profiles import DeviceKind

    return {"device_kind": check.polled_kinds.get(target, DeviceKind.UNKNOWN).value}


def _ssh(target: str | None, o: Options, _: Uplink) -> Setup:
    host, port = host_port(target, 22, "HOST[:PORT]")
    variable = o["passphrase_env"]
    passphrase = os.environ.get(variable) if variable else None
    if variable and passphrase is None:
        raise click.BadParameter(f"{variable} is not set", param_hint="--passphrase-env")
    timeout = o["timeout_s"]
    return Setup(
        {
            "targets": [
                {
                    "host": host,
                    "port": port,
                    "user": o["user"],
                    "key_file": o["key_file"],
                    "known_hosts": o["known_hosts"],
                    "set": o["command_set"],
                    "passphrase": passphrase,
                }
            ],
            "connect_timeout_s": min(60.0, timeout),
            "banner_timeout_s": min(60.0, timeout),
            "auth_timeout_s": min(60.0, timeout),
            "command_timeout_s": timeout,
            # --timeout bounds the whole session: the check stops its commands at it and
            # answers 0.5 s later at the latest.
            "timeout_s": timeout + 0.5,
        }
    )


# --------------------------------------------------------------------------- USB devices


def _cups(target: str | None, o: Options, _: Uplink) -> Setup:
    timeout = o["timeout_s"]
    return Setup(
        {
            "url": o["url"],
            "queues": [target] if target else [],
            "expected": True,  # a probe always answers, also "no print service"
            "request_timeout_s": timeout,
            "timeout_s": min(300.0, timeout * 2 + 1.0),  # the list, then the queues
        }
    )


def _nut(target: str | None, o: Options, _: Uplink) -> Setup:
    name, _at, where = (target or "").partition("@")
    host, port = host_port(where or o["server"], 3493, "UPS[@HOST[:PORT]]")
    timeout = o["timeout_s"]
    return Setup(
        {
            "server": host,
            "port": port,
            "ups": [name] if name else [],
            "expected": True,
            # aionut tries each request twice: each try gets half of --timeout.
            "request_timeout_s": timeout / 4,
            "timeout_s": timeout + 0.5,
        }
    )


def _scanner(target: str | None, o: Options, _: Uplink) -> Setup:
    return Setup(
        {
            "devices": [target] if target else [],
            "expected": True,
            "timeout_s": o["timeout_s"] + 1.0,
        }
    )


# --------------------------------------------------------------------------- meetings


def _udp(target: str | None, o: Options, uplink: Uplink) -> Setup:
    from checks.network.quality import DEFAULT_REFLECTOR_PORT, reflector_target

    try:
        where = reflector_target(target, DEFAULT_REFLECTOR_PORT, uplink.collector_url)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="HOST[:PORT]") from None
    if where is None:
        raise click.UsageError("missing HOST[:PORT] (and no collector URL configured)")
    needed = o["count"] * o["interval_s"] + o["wait_s"]
    return Setup(
        {
            "target": target,
            "count": o["count"],
            "interval_s": o["interval_s"],
            "wait_s": o["wait_s"],
            "timeout_s": min(300.0, needed + 5.0),
        },
        Uplink(collector_url=uplink.collector_url),
    )


def _sip(target: str | None, o: Options, _: Uplink) -> Setup:
    from checks.videoconf.sip import DEFAULT_PORT

    host_port(target, DEFAULT_PORT, "HOST[:PORT]")
    # The check answers 0.2 s before its own deadline: the exchange gets --timeout.
    return Setup(
        {
            "targets": [{"server": target, "transport": o["transport"]}],
            "timeout_s": o["timeout_s"] + 0.2,
        }
    )


def _stun(target: str | None, o: Options, _: Uplink) -> Setup:
    from checks.videoconf.stun import DEFAULT_PORT

    host_port(target, DEFAULT_PORT, "HOST[:PORT]")
    return Setup({"servers": [target], "timeout_s": o["timeout_s"] + 0.2})


def _throughput(target: str | None, o: Options, uplink: Uplink) -> Setup:
    base = (target or uplink.collector_url or "").rstrip("/")
    if not base:
        raise click.UsageError("missing URL (and no collector URL configured)")
    http_url(base)
    seconds = o["max_seconds"]
    return Setup(
        {
            "url": base,
            "download_bytes": o["download_bytes"],
            "upload_bytes": o["upload_bytes"],
            "max_seconds": seconds,
            # Two directions, each with its transfer time and the client's 5 s of slack.
            "timeout_s": min(300.0, 2 * seconds + 12),
            # Without a token the collector's refusal (401) is the answer to show.
            "require_token": False,
        },
        Uplink(token=o["token"] or uplink.token, verify=uplink.verify),
    )


def _bytes_option(flag: str, default: int) -> click.Option:
    return click.Option(
        [flag], type=click.IntRange(65536, 64 * 1024 * 1024), default=default, show_default=True
    )


PROBES: tuple[Probe, ...] = (
    Probe(
        "tcp",
        "net.tcp",
        "HOST:PORT",
        "Open one TCP connection to HOST:PORT and measure the connect time.",
        _tcp,
        (_timeout(0.01, 300, 3.0, "Connect deadline in seconds."),),
    ),
    Probe(
        "http",
        "net.http",
        "URL",
        "Send one GET to URL (redirects not followed: a 3xx is an answer).",
        _http,
        (
            _timeout(0.01, 300, 5.0, "Deadline of the whole request in seconds."),
            click.Option(["--expect"], metavar="TEXT", help="Text the response body must contain."),
            click.Option(
                ["--ca-file"],
                type=click.Path(exists=True, dir_okay=False),
                help="CA bundle to verify the server with (private PKI).",
            ),
            click.Option(["--insecure"], is_flag=True, help="Do not verify the TLS certificate."),
        ),
    ),
    Probe(
        "snmp",
        "eq.snmp",
        "HOST[:PORT]",
        "Identify an SNMP device (printer, UPS, switch, router, host) and read its state.",
        _snmp,
        (
            click.Option(
                ["--community"],
                envvar="IOC_SNMP_COMMUNITY",
                help="SNMPv2c community (env IOC_SNMP_COMMUNITY keeps it out of `ps`).",
            ),
            click.Option(
                ["--v3-user", "user"], metavar="USER", help="SNMPv3 user (authPriv or authNoPriv)."
            ),
            click.Option(
                ["--auth-key"], envvar="IOC_SNMP_AUTH_KEY", help="SNMPv3 authentication key."
            ),
            click.Option(["--priv-key"], envvar="IOC_SNMP_PRIV_KEY", help="SNMPv3 privacy key."),
            click.Option(
                ["--auth-proto"],
                type=click.Choice(["SHA", "SHA224", "SHA256", "SHA384", "SHA512", "MD5"]),
                default="SHA",
                show_default=True,
            ),
            click.Option(
                ["--priv-proto"],
                type=click.Choice(["AES", "AES128", "AES192", "AES256", "DES"]),
                default="AES",
                show_default=True,
            ),
            click.Option(["--context"], default="", help="SNMPv3 context name."),
            click.Option(
                ["--kind"],
                type=click.Choice(["auto", "printer", "ups", "switch", "router", "host"]),
                default="auto",
                show_default=True,
                help="Device kind (auto = detect).",
            ),
            _timeout(
                0.1, 120, 10.0, "Deadline of the whole probe in seconds (a try: 2 s at most)."
            ),
            click.Option(["--retries"], type=click.IntRange(0, 5), default=1, show_default=True),
        ),
        describe=_snmp_kind,
    ),
    Probe(
        "ssh",
        "ssh.command",
        "HOST[:PORT]",
        "Run a command set on HOST over SSH (key authentication, pinned host key).",
        _ssh,
        (
            click.Option(["--user"], required=True, help="Login name."),
            click.Option(
                ["--key", "key_file"],
                required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="Private key file (Ed25519, ECDSA or RSA).",
            ),
            click.Option(
                ["--known-hosts", "known_hosts"],
                required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="Pinned host keys; an unknown or changed host key is refused.",
            ),
            click.Option(
                ["--set", "command_set"],
                default="linux",
                show_default=True,
                help="Command set to run (linux, router).",
            ),
            _timeout(
                0.1, 120, 20.0, "Deadline of the whole session in seconds (connect and commands)."
            ),
            click.Option(
                ["--passphrase-env"],
                metavar="VAR",
                help="Environment variable holding the key's passphrase (never on the line).",
            ),
        ),
    ),
    Probe(
        "cups",
        "eq.cups",
        "[QUEUE]",
        "State, reasons and supply levels of a printer queue of this machine's CUPS "
        "(default: every queue), USB printers included.",
        _cups,
        (
            click.Option(
                ["--url"],
                default="http://localhost:631",
                show_default=True,
                help="The cupsd to ask.",
            ),
            _timeout(0.1, 60, 3.0, "Deadline of each IPP request in seconds."),
        ),
        target_required=False,
    ),
    Probe(
        "nut",
        "eq.nut",
        "[UPS[@HOST[:PORT]]]",
        "Status, charge and runtime of a UPS served by NUT's upsd (default: every UPS of "
        "localhost:3493), USB UPSes included.",
        _nut,
        (
            click.Option(
                ["--server"], default="localhost", show_default=True, help="upsd HOST[:PORT]."
            ),
            _timeout(0.1, 60, 8.0, "Deadline of the whole probe in seconds."),
        ),
        target_required=False,
    ),
    Probe(
        "scanner",
        "eq.scanner",
        "[DEVICE]",
        "Scanners on this machine: SANE (scanimage -L) on Linux, WIA on Windows; with DEVICE, "
        "that one must be among them.",
        _scanner,
        (
            _timeout(
                0.1, 120, 20.0, "Deadline of the scanner list (scanimage -L, or WIA) in seconds."
            ),
        ),
        target_required=False,
    ),
    Probe(
        "udp",
        "vc.quality",
        "[HOST[:PORT]]",
        "RTT, jitter, loss and MOS to the collector's UDP reflector (default: the "
        "collector's host, port 8322).",
        _udp,
        (
            click.Option(
                ["--count"],
                type=click.IntRange(2, 5000),
                default=50,
                show_default=True,
                help="Packets to send.",
            ),
            click.Option(
                ["--interval", "interval_s"],
                type=click.FloatRange(0.001, 1.0),
                default=0.02,
                show_default=True,
                help="Seconds between packets.",
            ),
            click.Option(
                ["--wait", "wait_s"],
                type=click.FloatRange(0.01, 10),
                default=1.0,
                show_default=True,
                help="Seconds to wait for replies after the last packet.",
            ),
            CONFIG_OPTION,
        ),
        target_required=False,
        uses_agent=True,
    ),
    Probe(
        "sip",
        "vc.sip",
        "HOST[:PORT]",
        "Send a SIP OPTIONS to HOST[:PORT] (default 5060); any final answer means alive.",
        _sip,
        (
            click.Option(
                ["--transport"], type=click.Choice(["udp", "tcp"]), default="udp", show_default=True
            ),
            _timeout(0.01, 60, 3.0, "Deadline in seconds."),
        ),
    ),
    Probe(
        "stun",
        "vc.stun",
        "HOST[:PORT]",
        "Send a STUN Binding request to HOST[:PORT] (default 3478); show the mapped address.",
        _stun,
        (_timeout(0.01, 60, 3.0, "Deadline in seconds."),),
    ),
    Probe(
        "throughput",
        "net.throughput",
        "[URL]",
        "Download and upload bandwidth to the collector at URL (default: the configured one).",
        _throughput,
        (
            _bytes_option("--download-bytes", 16 * 1024 * 1024),
            _bytes_option("--upload-bytes", 8 * 1024 * 1024),
            click.Option(
                ["--max-seconds"],
                type=click.FloatRange(0.1, 60),
                default=10.0,
                show_default=True,
                help="Time limit of each direction.",
            ),
            click.Option(
                ["--token"],
                envvar="IOC_AGENT_TOKEN",
                help="Agent token (default: the enrolled agent's). Env: IOC_AGENT_TOKEN.",
            ),
            CONFIG_OPTION,
        ),
        target_required=False,
        uses_agent=True,
    ),
)


def find(name: str) -> Probe | None:
    """The probe called ``name``, by short name or by check id."""
    return next((p for p in PROBES if name in (p.name, p.check_id)), None)


def known() -> str:
    return ", ".join(f"{p.name} ({p.check_id})" for p in PROBES)
