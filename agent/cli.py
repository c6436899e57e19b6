"""``ioc-agent``: check this machine, enroll it, run the daemon, probe one target.

Every operator error ends in a one-line message and a non-zero exit code (1 for a failed
operation, 2 for a usage or configuration error); never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import click

from agent import __version__
from agent.config import AgentConfig, ConfigError, load_config
from agent.enroll import EnrollError, enroll
from agent.i18n import LANGS, Lang, t
from agent.state import AgentState, StateError, load_state
from checks.base import CheckContext
from checks.model import Category, CheckResult
from checks.network.probes import (
    evaluate_http,
    evaluate_tcp,
    probe_http,
    probe_tcp,
    split_host_port,
)
from checks.runner import run_checks, scrub
from checks.secrets import check_secrets
from checks.tls import httpx_verify

T = TypeVar("T")

CONFIG_HELP = "YAML configuration file (default: built-in defaults). Env: IOC_AGENT_CONFIG."
LANG_OPTION = click.option(
    "--lang", type=click.Choice(LANGS), default="vi", show_default=True,
    envvar="IOC_AGENT_LANG", help="Language of the table (vi = Tiếng Việt, en = English).",
)


def _config_option(required: bool = False) -> Any:
    return click.option(
        "--config", "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="IOC_AGENT_CONFIG", required=required, help=CONFIG_HELP,
    )


def _load(config_path: Path | None) -> AgentConfig:
    try:
        return load_config(config_path)
    except ConfigError as exc:
        # A bad configuration is a usage error (exit 2), reported on one line.
        raise click.UsageError(str(exc)) from None


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run with a roomy thread pool: blocking calls in checks (psutil, name
    resolution) run in threads, and a few hung resolver calls must not starve the rest."""

    async def wrapper() -> T:
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=32, thread_name_prefix="ioc-check")
        )
        return await coro

    return asyncio.run(wrapper())


def results_json(host: str, results: list[CheckResult]) -> dict[str, Any]:
    from agent.render import results_json as render_json

    return render_json(host, results)


def print_table(console: Any, title: str, results: list[CheckResult], lang: Lang,
                **kwargs: Any) -> None:
    # rich (tables) is imported only by the commands that print one: the daemon (`run`)
    # never does, and stays smaller without it (docs/BENCHMARKS.md, agent footprint).
    from agent.render import print_table as render_table

    render_table(console, title, results, lang, **kwargs)


def _console() -> Any:
    from rich.console import Console

    return Console()


def _try_state(config: AgentConfig) -> AgentState | None:
    try:
        return load_state(config.state_dir)
    except StateError:
        return None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ioc-agent")
def main() -> None:
    """Commune IT readiness agent (commune-ioc).

    Start with `ioc-agent check`: it shows at once what is not ready on this machine and
    why. Then `ioc-agent enroll` it with the province's collector and run `ioc-agent run`
    as a service.
    """


@main.command()
@_config_option()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@LANG_OPTION
def check(config_path: Path | None, as_json: bool, lang: Lang) -> None:
    """Run every enabled check once and show what is not ready.

    Works without configuration and without a collector: checks that have nothing to
    measure report "unknown". Exit code is 0 whatever the results (read the verdict or the
    JSON); it is non-zero only for a usage or configuration error.
    """
    config = _load(config_path)
    state = _try_state(config)
    collector_url = config.collector.url or (state.collector_url if state else None)
    checks = config.enabled_checks()
    ctx = CheckContext(
        host=config.host,
        collector_url=collector_url,
        secrets=((state.token,) if state else ()) + check_secrets(checks),
        verify_tls=config.collector.verify,
        token=state.token if state else None,
    )
    results = _run(run_checks(checks, ctx))
    if as_json:
        click.echo(json.dumps(results_json(config.host, results), ensure_ascii=False, indent=2))
        return
    print_table(_console(), t(lang, "title.check", host=config.host), results, lang)


@main.command(name="enroll")
@click.option("--collector", "collector_url", metavar="URL",
              help="Collector base URL, e.g. https://ioc.tinh.gov.vn:8443 "
                   "(default: collector.url from --config).")
@click.option("--code", required=True, metavar="CODE",
              help="One-time enrollment code issued by the province for this commune.")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to keep agent.json (default: state_dir from the configuration).")
@_config_option()
def enroll_cmd(
    collector_url: str | None, code: str, state_dir: Path | None, config_path: Path | None
) -> None:
    """Enroll this machine with the province's collector.

    Stores the agent identity and its token in STATE_DIR/agent.json (mode 0600).
    """
    config = _load(config_path)
    url = collector_url or config.collector.url
    if not url:
        raise click.UsageError("missing --collector URL (and no collector.url in the config)")
    if not url.startswith(("http://", "https://")):
        raise click.BadParameter("must start with http:// or https://", param_hint="--collector")
    target_dir = state_dir or config.state_dir
    try:
        state = enroll(url, code, target_dir, host=config.host,
                       verify=config.collector.verify, timeout_s=config.collector.timeout_s)
    except EnrollError as exc:
        raise click.ClickException(scrub(str(exc), (code,))) from None
    click.echo(
        f"Enrolled as {state.agent_id} for {state.commune_name} ({state.commune_code}); "
        f"state in {target_dir / 'agent.json'}"
    )


@main.command()
@_config_option()
@click.option("--once", is_flag=True, help="Run one cycle (check, spool, send) and exit.")
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
def run(config_path: Path | None, once: bool, verbose: bool) -> None:
    """Run the agent daemon: check every interval, spool, send to the collector.

    Stops cleanly on SIGTERM or SIGINT (the cycle in progress completes).
    """
    from agent.daemon import Agent, install_signal_handlers
    from agent.spool import SpoolError

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:  # httpx logs every request at INFO: several journal lines a minute
        logging.getLogger("httpx").setLevel(logging.WARNING)
    config = _load(config_path)
    try:
        agent = Agent(config)
    except (StateError, SpoolError) as exc:
        raise click.ClickException(str(exc)) from None

    async def main_loop() -> None:
        if once:
            try:
                cycle = await agent.run_cycle()
            finally:
                await agent.aclose()
            flush = cycle.flush
            msg = f"report seq {cycle.report.seq}: {len(cycle.report.results)} results"
            if cycle.error:
                msg += f"; not spooled: {cycle.error}"
            if flush is not None:
                msg += f"; sent {flush.sent}"
                if flush.error:
                    msg += f"; {flush.error} (kept in the spool)"
            click.echo(msg)
            return
        stop = asyncio.Event()
        install_signal_handlers(stop)
        await agent.run_forever(stop)

    _run(main_loop())


@main.group()
def probe() -> None:
    """Probe one target now (exit code 0 when it answers as expected, 1 otherwise)."""


def _show_probe(result: CheckResult, as_json: bool, lang: Lang) -> None:
    if as_json:
        click.echo(json.dumps(results_json("", [result])["results"][0], ensure_ascii=False,
                              indent=2))
    else:
        print_table(_console(), t(lang, "title.probe"), [result], lang, with_verdict=False)
    if result.status.value not in ("ok", "warn"):
        raise SystemExit(1)


@probe.command(name="tcp")
@click.argument("target", metavar="HOST:PORT")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.01, max=300),
              default=3.0, show_default=True, help="Connect deadline in seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@LANG_OPTION
def probe_tcp_cmd(target: str, timeout_s: float, as_json: bool, lang: Lang) -> None:
    """Open one TCP connection to HOST:PORT and measure the connect time."""
    try:
        host, port = split_host_port(target)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="HOST:PORT") from None
    outcome = _run(probe_tcp(host, port, timeout_s))
    _show_probe(evaluate_tcp("net.tcp", outcome, target=target), as_json, lang)


@probe.command(name="http")
@click.argument("url")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.01, max=300),
              default=5.0, show_default=True, help="Deadline of the whole request in seconds.")
@click.option("--expect", metavar="TEXT", help="Text the response body must contain.")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False),
              help="CA bundle to verify the server with (private PKI).")
@click.option("--insecure", is_flag=True, help="Do not verify the TLS certificate.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@LANG_OPTION
def probe_http_cmd(
    url: str, timeout_s: float, expect: str | None, ca_file: str | None, insecure: bool,
    as_json: bool, lang: Lang,
) -> None:
    """Send one GET to URL (redirects not followed: a 3xx is an answer)."""
    if not url.startswith(("http://", "https://")):
        raise click.BadParameter("must start with http:// or https://", param_hint="URL")
    verify = False if insecure else (httpx_verify(ca_file) if ca_file else True)
    outcome = _run(probe_http(url, timeout_s, expect=expect, verify=verify))
    result = evaluate_http("net.http", outcome, target=url, expect=expect,
                           category=Category.NETWORK)
    _show_probe(result, as_json, lang)


@probe.command(name="snmp")
@click.argument("target", metavar="HOST[:PORT]")
@click.option("--community", envvar="IOC_SNMP_COMMUNITY",
              help="SNMPv2c community (env IOC_SNMP_COMMUNITY keeps it out of `ps`).")
@click.option("--v3-user", "user", metavar="USER", help="SNMPv3 user (authPriv or authNoPriv).")
@click.option("--auth-key", envvar="IOC_SNMP_AUTH_KEY", help="SNMPv3 authentication key.")
@click.option("--priv-key", envvar="IOC_SNMP_PRIV_KEY", help="SNMPv3 privacy key.")
@click.option("--auth-proto", type=click.Choice(["SHA", "SHA224", "SHA256", "SHA384",
                                                  "SHA512", "MD5"]),
              default="SHA", show_default=True)
@click.option("--priv-proto", type=click.Choice(["AES", "AES128", "AES192", "AES256", "DES"]),
              default="AES", show_default=True)
@click.option("--context", default="", help="SNMPv3 context name.")
@click.option("--kind", type=click.Choice(["auto", "printer", "ups", "switch", "router",
                                           "host"]),
              default="auto", show_default=True, help="Device kind (auto = detect).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1, max=60),
              default=2.0, show_default=True, help="Deadline of each try, seconds.")
@click.option("--retries", type=click.IntRange(0, 5), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@LANG_OPTION
def probe_snmp_cmd(
    target: str, community: str | None, user: str | None, auth_key: str | None,
    priv_key: str | None, auth_proto: str, priv_proto: str, context: str, kind: str,
    timeout_s: float, retries: int, as_json: bool, lang: Lang,
) -> None:
    """Identify an SNMP device (printer, UPS, switch, router, host) and read its state."""
    from pydantic import ValidationError

    from checks.equipment.profiles import DeviceKind
    from checks.equipment.snmp_checks import SnmpDevice, poll_device

    try:
        host, port = split_host_port(target, default_port=161)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="HOST[:PORT]") from None
    if bool(community) == bool(user):
        raise click.UsageError("give either --community (v2c) or --v3-user (v3)")
    try:
        device = SnmpDevice.model_validate({
            "name": target, "host": host, "port": port, "kind": kind,
            "version": "3" if user else "2c", "community": community, "user": user,
            "auth_key": auth_key, "priv_key": priv_key, "auth_proto": auth_proto,
            "priv_proto": priv_proto, "context": context, "timeout_s": timeout_s,
            "retries": retries,
        })
    except ValidationError as exc:
        raise click.UsageError(str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
                               ) from None
    polled = _run(poll_device(device.target(), target,
                              None if kind == "auto" else DeviceKind(kind)))
    result = polled.result.model_copy(
        update={"message": scrub(polled.result.message, device.secrets())})
    if as_json:
        body = {"device_kind": polled.kind.value, **results_json("", [result])["results"][0]}
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
        if result.status.value not in ("ok", "warn"):
            raise SystemExit(1)
        return
    click.echo(f"device_kind: {polled.kind.value}")
    _show_probe(result, as_json, lang)


@probe.command(name="ssh")
@click.argument("target", metavar="HOST[:PORT]")
@click.option("--user", required=True, help="Login name.")
@click.option("--key", "key_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Private key file (Ed25519, ECDSA or RSA).")
@click.option("--known-hosts", "known_hosts", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Pinned host keys; an unknown or changed host key is refused.")
@click.option("--set", "command_set", default="linux", show_default=True,
              help="Command set to run (linux, router).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1, max=120),
              default=10.0, show_default=True, help="Connect and per-command deadline (s).")
@click.option("--passphrase-env", metavar="VAR",
              help="Environment variable holding the key's passphrase (never on the line).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@LANG_OPTION
def probe_ssh_cmd(
    target: str, user: str, key_file: Path, known_hosts: Path, command_set: str,
    timeout_s: float, passphrase_env: str | None, as_json: bool, lang: Lang,
) -> None:
    """Run a command set on HOST over SSH (key authentication, pinned host key)."""
    import os

    from pydantic import ValidationError

    from checks.runner import run_check
    from checks.ssh.check import SshCheck, SshConfig

    try:
        host, port = split_host_port(target, default_port=22)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="HOST[:PORT]") from None
    passphrase = os.environ.get(passphrase_env) if passphrase_env else None
    if passphrase_env and passphrase is None:
        raise click.BadParameter(f"{passphrase_env} is not set", param_hint="--passphrase-env")
    try:
        config = SshConfig.model_validate({
            "targets": [{"host": host, "port": port, "user": user, "key_file": key_file,
                         "known_hosts": known_hosts, "set": command_set,
                         "passphrase": passphrase}],
            "connect_timeout_s": timeout_s, "banner_timeout_s": timeout_s,
            "auth_timeout_s": timeout_s, "command_timeout_s": timeout_s,
            "timeout_s": min(300.0, timeout_s * 6 + 5),
        })
    except ValidationError as exc:
        msg = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise click.UsageError(msg) from None
    check = SshCheck(config)
    ctx = CheckContext(host=host, secrets=check_secrets([check]))
    [result] = _run(run_check(check, ctx))
    _show_probe(result, as_json, lang)


def _collector_default(
    config_path: Path | None,
) -> tuple[AgentConfig, AgentState | None, str | None]:
    config = _load(config_path)
    state = _try_state(config)
    return config, state, config.collector.url or (state.collector_url if state else None)


@probe.command(name="udp")
@click.argument("target", metavar="[HOST[:PORT]]", required=False)
@click.option("--count", type=click.IntRange(2, 5000), default=50, show_default=True,
              help="Packets to send.")
@click.option("--interval", "interval_s", type=click.FloatRange(0.001, 1.0), default=0.02,
              show_default=True, help="Seconds between packets.")
@click.option("--wait", "wait_s", type=click.FloatRange(0.01, 10), default=1.0,
              show_default=True, help="Seconds to wait for replies after the last packet.")
@_config_option()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@LANG_OPTION
def probe_udp_cmd(target: str | None, count: int, interval_s: float, wait_s: float,
                  config_path: Path | None, as_json: bool, lang: Lang) -> None:
    """RTT, jitter, loss and MOS to the collector's UDP reflector (default: the collector's
    host, port 8322)."""
    from checks.network.quality import (
        QualityConfig,
        evaluate_quality,
        probe_udp,
        reflector_target,
    )

    _, _, collector_url = _collector_default(config_path)
    try:
        where = reflector_target(target, QualityConfig().port, collector_url)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="HOST[:PORT]") from None
    if where is None:
        raise click.UsageError("missing HOST[:PORT] (and no collector URL configured)")
    outcome = _run(probe_udp(where[0], where[1], count=count, interval_s=interval_s,
                             wait_s=wait_s))
    _show_probe(evaluate_quality(outcome), as_json, lang)


@probe.command(name="sip")
@click.argument("target", metavar="HOST[:PORT]")
@click.option("--transport", type=click.Choice(["udp", "tcp"]), default="udp",
              show_default=True)
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.01, max=60),
              default=3.0, show_default=True, help="Deadline in seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@LANG_OPTION
def probe_sip_cmd(target: str, transport: str, timeout_s: float, as_json: bool,
                  lang: Lang) -> None:
    """Send a SIP OPTIONS to HOST[:PORT] (default 5060); any final answer means alive."""
    from checks.videoconf.sip import DEFAULT_PORT, evaluate_sip, probe_sip

    try:
        host, port = split_host_port(target, default_port=DEFAULT_PORT)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="HOST[:PORT]") from None
    outcome = _run(probe_sip(host, port, transport, timeout_s))
    _show_probe(evaluate_sip(outcome, target=f"{target}/{transport}"), as_json, lang)


@probe.command(name="stun")
@click.argument("target", metavar="HOST[:PORT]")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.01, max=60),
              default=3.0, show_default=True, help="Deadline in seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@LANG_OPTION
def probe_stun_cmd(target: str, timeout_s: float, as_json: bool, lang: Lang) -> None:
    """Send a STUN Binding request to HOST[:PORT] (default 3478); show the mapped address."""
    from checks.videoconf.stun import DEFAULT_PORT, evaluate_stun, probe_stun

    try:
        host, port = split_host_port(target, default_port=DEFAULT_PORT)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="HOST[:PORT]") from None
    result = evaluate_stun(_run(probe_stun(host, port, timeout_s)))
    _show_probe(result.model_copy(update={"target": target}), as_json, lang)


@probe.command(name="throughput")
@click.argument("url", required=False)
@click.option("--download-bytes", type=click.IntRange(65536, 64 * 1024 * 1024),
              default=16 * 1024 * 1024, show_default=True)
@click.option("--upload-bytes", type=click.IntRange(65536, 64 * 1024 * 1024),
              default=8 * 1024 * 1024, show_default=True)
@click.option("--max-seconds", type=click.FloatRange(0.1, 60), default=10.0,
              show_default=True, help="Time limit of each direction.")
@click.option("--token", envvar="IOC_AGENT_TOKEN",
              help="Agent token (default: the enrolled agent's). Env: IOC_AGENT_TOKEN.")
@_config_option()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@LANG_OPTION
def probe_throughput_cmd(
    url: str | None, download_bytes: int, upload_bytes: int, max_seconds: float,
    token: str | None, config_path: Path | None, as_json: bool, lang: Lang,
) -> None:
    """Download and upload bandwidth to the collector at URL (default: the configured one)."""
    from checks.network.throughput import (
        ThroughputConfig,
        evaluate_throughput,
        measure_throughput,
    )

    config, state, collector_url = _collector_default(config_path)
    base = (url or collector_url or "").rstrip("/")
    if not base:
        raise click.UsageError("missing URL (and no collector URL configured)")
    if not base.startswith(("http://", "https://")):
        raise click.BadParameter("must start with http:// or https://", param_hint="URL")
    token = token or (state.token if state else None)
    cfg = ThroughputConfig(download_bytes=download_bytes, upload_bytes=upload_bytes,
                           max_seconds=max_seconds, timeout_s=min(300.0, 2 * max_seconds + 2))
    down, up = _run(measure_throughput(base, token, cfg, config.collector.verify))
    result = evaluate_throughput(base, down, up, cfg)
    if token:
        result = result.model_copy(update={"message": scrub(result.message, (token,))})
    _show_probe(result, as_json, lang)
