"""``ioc-agent``: check this machine, enroll it, run the daemon, probe one target.

Every operator error ends in a one-line message and a non-zero exit code (1 for a failed
operation, 2 for a usage or configuration error); never a traceback.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from agent import __version__
from agent.config import (
    AgentConfig,
    ConfigError,
    default_config_file,
    load_config,
    load_config_apart,
)
from agent.enroll import EnrollError, enroll
from agent.i18n import LANGS, Lang, t
from agent.levels import load_levels
from agent.state import AgentState, StateError, load_state
from checks.base import CheckContext
from checks.levels import judge_all
from checks.model import CheckResult
from checks.runner import run_checks, scrub
from checks.secrets import check_secrets

if TYPE_CHECKING:  # the probe table is loaded by `ioc-agent probe` only, never by `run`
    from agent.probes import Probe, Uplink

T = TypeVar("T")

CONFIG_HELP = (
    "YAML configuration file (default: built-in defaults; on Windows "
    "%ProgramData%\\ioc-agent\\agent.yaml when it exists). Env: IOC_AGENT_CONFIG."
)
LANG_OPTION = click.option(
    "--lang",
    type=click.Choice(LANGS),
    default="vi",
    show_default=True,
    envvar="IOC_AGENT_LANG",
    help="Language of the table (vi = Tiếng Việt, en = English).",
)


def _config_option(required: bool = False) -> Any:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="IOC_AGENT_CONFIG",
        required=required,
        help=CONFIG_HELP,
    )


def _load(config_path: Path | None, apart: bool = False) -> AgentConfig:
    """The configuration, or a usage error; ``apart``: validated in a child interpreter,
    for the long-running agent (:func:`agent.config.load_config_apart`)."""
    load = load_config_apart if apart else load_config
    try:
        return load(config_path or default_config_file())
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


def print_table(
    console: Any, title: str, results: list[CheckResult], lang: Lang, **kwargs: Any
) -> None:
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
    levels = load_levels(config.state_dir)
    results = judge_all(_run(run_checks(checks, ctx)), levels.table)
    if as_json:
        click.echo(json.dumps(results_json(config.host, results), ensure_ascii=False, indent=2))
        return
    title = t(lang, "title.check", host=config.host)
    print_table(
        _console(), title, results, lang, remediation=levels.remediation, levels=levels.table
    )


@main.command(name="enroll")
@click.option(
    "--collector",
    "collector_url",
    metavar="URL",
    help="Collector base URL, e.g. https://ioc.tinh.gov.vn:8443 "
    "(default: collector.url from --config).",
)
@click.option(
    "--code",
    required=True,
    metavar="CODE",
    help="One-time enrollment code issued by the province for this commune.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to keep agent.json (default: state_dir from the configuration).",
)
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
        state = enroll(
            url,
            code,
            target_dir,
            host=config.host,
            verify=config.collector.verify,
            timeout_s=config.collector.timeout_s,
        )
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
    from agent.memory import limit_arenas
    from agent.spool import SpoolError

    limit_arenas()  # before the first worker thread: they share two allocator arenas

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    config = _load(config_path, apart=True)
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


def _json_or_table(
    results: list[CheckResult], extra: dict[str, str], as_json: bool, lang: Lang
) -> None:
    """Print a probe's results (``extra`` fields first) and exit 1 unless all answered."""
    if as_json:
        bodies = [{**extra, **body} for body in results_json("", results)["results"]]
        click.echo(
            json.dumps(bodies[0] if len(bodies) == 1 else bodies, ensure_ascii=False, indent=2)
        )
    else:
        for name, value in extra.items():
            click.echo(f"{name}: {value}")
        print_table(_console(), t(lang, "title.probe"), results, lang, with_verdict=False)
    if any(r.status.value not in ("ok", "warn") for r in results):
        raise SystemExit(1)


def _uplink(config: AgentConfig) -> Uplink:
    """The collector URL, token and TLS settings of the agent's configuration and state."""
    from agent.probes import Uplink

    state = _try_state(config)
    return Uplink(
        collector_url=config.collector.url or (state.collector_url if state else None),
        token=state.token if state else None,
        verify=config.collector.verify,
    )


def _try_load(config_path: Path | None) -> AgentConfig | None:
    """The configuration, or None when it cannot be read (a probe that needs nothing of the
    agent then judges with the built-in levels)."""
    try:
        return _load(config_path)
    except click.ClickException:
        return None


def _probe(spec: Probe, target: str | None, as_json: bool, lang: Lang, **options: Any) -> None:
    """The one probe command: the check from the registry, configured from the target and
    the options, run once through the runner, its result printed."""
    from pydantic import ValidationError

    from agent.probes import Uplink
    from checks.check_list import default_registry
    from checks.registry import UnknownCheckError
    from checks.runner import run_check

    config_path = options.pop("config_path", None)
    config = _load(config_path) if spec.uses_agent else _try_load(config_path)
    uplink = _uplink(config) if config is not None and spec.uses_agent else Uplink()
    setup = spec.configure(target, options, uplink)
    try:
        cls = default_registry().get(spec.check_id)
        check = cls(cls.Config.model_validate(setup.config))
    except UnknownCheckError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    except ValidationError as exc:
        raise click.UsageError(str(exc.errors()[0]["msg"]).removeprefix("Value error, ")) from None
    link = setup.uplink
    ctx = CheckContext(
        host=target or "",
        collector_url=link.collector_url,
        secrets=((link.token,) if link.token else ()) + check_secrets([check]),
        verify_tls=link.verify,
        token=link.token,
    )
    levels = load_levels(config.state_dir if config is not None else None)
    results = judge_all(_run(run_check(check, ctx)), levels.table)
    extra = spec.describe(check, target or "") if spec.describe else {}
    _json_or_table(results, extra, as_json, lang)


def _probe_command(spec: Probe) -> click.Command:
    lang = click.Option(
        ["--lang"],
        type=click.Choice(LANGS),
        default="vi",
        show_default=True,
        envvar="IOC_AGENT_LANG",
        help="Language of the table (vi = Tiếng Việt, en = English).",
    )
    as_json = click.Option(
        ["--json", "as_json"], is_flag=True, help="Print JSON instead of a table."
    )
    target = click.Argument(["target"], metavar=spec.metavar, required=spec.target_required)
    return click.Command(
        spec.name,
        callback=functools.partial(_probe, spec),
        params=[target, *spec.options, as_json, lang],
        help=f"{spec.summary}\n\nRuns the check {spec.check_id} once on {spec.metavar}, as "
        "`ioc-agent check` would, and shows its result.",
        short_help=f"[{spec.check_id}] {spec.summary}",
    )


class ProbeGroup(click.Group):
    """``probe CHECK ...``: the commands come from the probe table (``agent.probes``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from agent.probes import PROBES

        return [p.name for p in PROBES]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        from agent.probes import find

        spec = find(cmd_name)
        return None if spec is None else _probe_command(spec)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        from agent.probes import find, known

        if args and not args[0].startswith("-") and find(args[0]) is None:
            from checks.check_list import default_registry

            name = args[0]
            if name in default_registry():
                raise click.UsageError(
                    f"check {name!r} has no probe (`ioc-agent check` runs it); probes: {known()}",
                    ctx,
                )
            raise click.UsageError(f"unknown check {name!r}; known: {known()}", ctx)
        return super().resolve_command(ctx, args)


@main.group(cls=ProbeGroup)
def probe() -> None:
    """Probe one target now with one check (exit code 0 when it answers as expected, 1
    otherwise).

    `ioc-agent probe CHECK TARGET [OPTIONS]`: CHECK is a short name below or its check id
    (`probe tcp` and `probe net.tcp` are the same). The check runs once, through the same
    runner as `ioc-agent check`, configured from TARGET and the options;
    `ioc-agent probe CHECK --help` lists them.
    """
