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
from rich.console import Console

from agent import __version__
from agent.config import AgentConfig, ConfigError, load_config
from agent.enroll import EnrollError, enroll
from agent.i18n import LANGS, Lang, t
from agent.render import print_table, results_json
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
    ctx = CheckContext(
        host=config.host,
        collector_url=collector_url,
        secrets=(state.token,) if state else (),
        verify_tls=config.collector.verify,
    )
    results = _run(run_checks(config.enabled_checks(), ctx))
    if as_json:
        click.echo(json.dumps(results_json(config.host, results), ensure_ascii=False, indent=2))
        return
    print_table(Console(), t("title.check", lang, host=config.host), results, lang)


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

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    config = _load(config_path)
    try:
        agent = Agent(config)
    except StateError as exc:
        raise click.ClickException(str(exc)) from None

    async def main_loop() -> None:
        if once:
            try:
                cycle = await agent.run_cycle()
            finally:
                await agent.aclose()
            flush = cycle.flush
            msg = f"report seq {cycle.report.seq}: {len(cycle.report.results)} results"
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
        print_table(Console(), t("title.probe", lang), [result], lang, with_verdict=False)
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
