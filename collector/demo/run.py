"""``ioc-collector demo``: the whole chain on one machine, with the nation simulated.

1. a collector on an embedded SQLite file, served over HTTP on loopback;
2. this machine's own agent enrolls (for ``--commune``) and reports once;
3. simulated agents for every commune enroll and report through the same HTTP API;
4. the national summary, and the URLs to open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from collector.api.app import create_app
from collector.api.server import BackgroundServer
from collector.assembly import open_services, settle_gc
from collector.config import ConfigError, load_config, parse_listen
from collector.demo.simulator import Simulator
from collector.reports import fmt
from collector.service import Services
from collector.service.accounts import demo_users
from collector.storage.connect import make_private_dir

DEFAULT_DB = Path(".demo/ioc-demo.db")
COLOUR_STYLE = {"green": "green", "yellow": "yellow", "red": "red", "grey": "bright_black"}
COLOUR_VI = {"green": "xanh", "yellow": "vàng", "red": "đỏ", "grey": "xám"}


def _prepare_db(db: Path | None) -> Path:
    if db is None:
        # The demo's own file: recreated at each run so the figures are the seed's.
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEFAULT_DB}{suffix}").unlink(missing_ok=True)
        make_private_dir(DEFAULT_DB.parent)
        return DEFAULT_DB
    if db.exists() and db.stat().st_size > 0:
        # Never overwrite a file the user named: it may hold real data.
        raise ConfigError(f"--db {db}: file exists; remove it or name a new file for the demo")
    make_private_dir(db.parent)
    return db


def _local_agent(url: str, services: Services, commune: str, console: Console) -> bool:
    """Enroll this machine's agent and run one check cycle against the collector."""
    from agent.config import AgentConfig, UplinkConfig
    from agent.daemon import Agent
    from agent.enroll import enroll

    [(_, code)] = services.identities.create_enrollment_codes([commune])
    state_dir = Path(tempfile.mkdtemp(prefix="ioc-demo-agent-"))

    async def one_cycle() -> bool:
        agent = Agent(AgentConfig(collector=UplinkConfig(url=url), state_dir=state_dir))
        try:
            cycle = await agent.run_cycle()
        finally:
            await agent.aclose()
        flush = cycle.flush
        if flush is None or flush.error:
            console.print(
                f"[yellow]this machine's report was not delivered: {flush and flush.error}[/]"
            )
            return False
        not_ok = [r for r in cycle.report.results if r.status != "ok"]
        console.print(
            f"this machine ({cycle.report.host}): {len(cycle.report.results)} results delivered, "
            f"{len(not_ok)} not ok"
        )
        return True

    try:
        enroll(url, code, state_dir)
        return asyncio.run(one_cycle())
    except Exception as exc:  # the demo goes on with the simulated nation
        console.print(f"[yellow]this machine's agent could not report: {exc}[/]")
        return False
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def _summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title="Mức độ sẵn sàng theo tỉnh / Readiness by province", show_lines=False)
    table.add_column("Mã", justify="right")
    table.add_column("Tỉnh, thành phố")
    table.add_column("Xã", justify="right")
    for colour in ("green", "yellow", "red", "grey"):
        table.add_column(COLOUR_VI[colour], justify="right", style=COLOUR_STYLE[colour])
    table.add_column("Tỷ lệ xanh", justify="right")
    rows = sorted(summary["by_province"], key=lambda r: r["green_ratio"], reverse=True)
    for r in rows:
        table.add_row(
            r["code"],
            r["name"],
            str(r["communes"]),
            str(r["green"]),
            str(r["yellow"]),
            str(r["red"]),
            str(r["grey"]),
            fmt.percent(r["green_ratio"], "vi"),
        )
    table.add_section()
    table.add_row(
        "",
        "Toàn quốc / Nation",
        str(summary["communes"]),
        str(summary["green"]),
        str(summary["yellow"]),
        str(summary["red"]),
        str(summary["grey"]),
        fmt.percent(summary["green_ratio"], "vi"),
    )
    return table


def _simulate(
    url: str, services: Services, seed: int, operator: str, err: Console
) -> tuple[Simulator, Any]:
    """One round of every simulated agent (enroll, then report), with progress bars; the
    attestations entered by ``operator``."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as progress:
        tasks: dict[str, Any] = {}

        def show(phase: str, done: int, total: int) -> None:
            label = {"enroll": "simulated agents enroll", "report": "simulated agents report"}
            if phase not in tasks:
                tasks[phase] = progress.add_task(label.get(phase, phase), total=total)
            progress.update(tasks[phase], completed=done)

        sim = Simulator(url, services, seed=seed, progress=show, operator=operator)
        stats = asyncio.run(sim.run(rounds=1))
    return sim, stats


def _show(
    out: Console,
    err: Console,
    summary: dict[str, Any],
    logins: dict[str, tuple[str, str]],
    *,
    url: str,
    commune: str,
    elapsed: float,
    as_json: bool,
) -> None:
    """The national picture (a table, or JSON), then where to look and the demo logins."""
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2), flush=True)
        for r, (u, p) in logins.items():
            err.print(f"pages {url}/ login {r}: {u} / {p}")
    else:
        out.print(_summary_table(summary))
        out.print(
            f"{summary['provinces']} tỉnh, {summary['communes']} xã/phường/đặc khu: "
            f"[green]{summary['green']} xanh[/], [yellow]{summary['yellow']} vàng[/], "
            f"[red]{summary['red']} đỏ[/], [bright_black]{summary['grey']} xám[/] "
            f"({elapsed:.0f} s)"
        )
        out.print(
            "\nOpen / Mở:\n"
            f"  {url}/api/v1/summary          national summary (JSON)\n"
            f"  {url}/api/v1/communes/{commune}  one commune, criterion by criterion\n"
            f"  {url}/metrics                 Prometheus metrics\n"
            f"  {url}/docs                    API documentation\n"
            f"  {url}/                        officials' pages (trang cho cán bộ)\n"
            f"  {url}/commune/{commune}          one commune's page\n"
            f"  {url}/reports?format=pdf      national report (PDF)\n"
            + "".join(f"  login {r}: {u} / {p}\n" for r, (u, p) in logins.items())
        )


def run_demo(
    *,
    db: Path | None,
    listen: str,
    once: bool,
    as_json: bool,
    seed: int,
    commune: str,
    local_agent: bool,
    reflector_port: int | None = None,
) -> int:
    err = Console(stderr=True)
    out = Console()
    host, port = parse_listen(listen)
    path = _prepare_db(db)
    # The demo's own simulated nation: its /metrics and API documentation are open on
    # purpose, to be looked at; a real collector keeps both closed unless configured.
    cfg = load_config(
        None,
        db=str(path),
        listen=listen,
        reflector_port=reflector_port,
        metrics_open=True,
        api_docs=True,
    )
    services = open_services(cfg, migrate=True)  # its own database, made here
    services.units.commune(commune)  # refuse an unknown --commune before starting anything
    started = time.monotonic()
    server = BackgroundServer(create_app(services, cfg), host, port)
    settle_gc()  # a long-running process from here on, like `serve`
    url = server.start()
    err.print(f"collector: {url}  (database {path})")
    try:
        # The demo's people first: the operator signs the simulated attestations.
        logins = demo_users(services.accounts)
        with services.history.held():  # no point of the coverage history while loading
            if local_agent:
                err.print(
                    f"this machine's agent: enrolling for commune {commune} and reporting once"
                )
                _local_agent(url, services, commune, err)
            sim, stats = _simulate(url, services, seed, logins["operator"][0], err)
            summary = services.readiness.summary()
            # The first point of the coverage history, once every simulated agent reported.
            services.history.snapshot(min_interval_s=0, by_holder=True)
        if stats.errors:
            err.print(
                f"[red]{len(stats.errors)} simulated requests failed[/], first: {stats.errors[0]}"
            )
        elapsed = time.monotonic() - started
        _show(out, err, summary, logins, url=url, commune=commune, elapsed=elapsed, as_json=as_json)
        if once:
            return 0 if not stats.errors else 1
        err.print("serving until Ctrl-C; simulated agents report every 60 s")
        _serve_forever(sim)
        return 0
    finally:
        server.stop()


def _serve_forever(sim: Simulator, every_s: float = 60.0) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    async def loop() -> None:
        import httpx

        async with httpx.AsyncClient(timeout=30.0) as client:
            while not stop.is_set():
                # Sleep in short steps so SIGTERM ends the demo promptly.
                for _ in range(int(every_s * 10)):
                    if stop.is_set():
                        return
                    await asyncio.sleep(0.1)
                await sim.round(client)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(loop())
