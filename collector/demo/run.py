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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from checks.model import utcnow
from collector.api.app import create_app
from collector.api.server import BackgroundServer
from collector.assembly import open_services, settle_gc
from collector.config import ConfigError, load_config, parse_listen
from collector.criteria.rules import Rules
from collector.demo import DEFAULT_DAYS, MAX_DAYS
from collector.demo.month import DayProgress, DemoClock, Month, MonthStats, period_start
from collector.demo.simulator import Simulator
from collector.reports import fmt
from collector.service import Services
from collector.service.accounts import demo_users
from collector.storage.connect import make_private_dir

#: A host's staleness in the simulated past: longer than any gap between two reports of a
#: simulated host there (the catalogue's bound, a week of working time).
MONTH_STALE_AFTER_S = 7 * 86400

DEFAULT_DB = Path(".demo/ioc-demo.db")
COLOUR_STYLE = {"green": "green", "yellow": "yellow", "red": "red", "grey": "bright_black"}
COLOUR_VI = {"green": "xanh", "yellow": "vàng", "red": "đỏ", "grey": "xám"}
WEEKDAY_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")


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


@contextlib.contextmanager
def _progress(err: Console) -> Iterator[Callable[[str, int, int], None]]:
    """Progress bars of the simulated agents' phases (enroll, report)."""
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

        yield show


async def _with_client(sim: Simulator, step: str) -> None:
    """One phase of the simulator (``setup`` or ``round``) over one HTTP client."""
    async with sim.client() as client:
        await getattr(sim, step)(client)


def _day_line(err: Console) -> DayProgress:
    """Prints one line per simulated day (Vietnamese, then English)."""

    def show(day: date, working: bool, reports: int, green: float | None) -> None:
        kind = "làm việc / working" if working else "nghỉ / day off"
        ratio = "" if green is None else f", xanh / green {fmt.percent(green, 'vi')}"
        err.print(
            f"  {day:%d/%m/%Y} {WEEKDAY_VI[day.weekday()]}: {kind}, "
            f"{fmt.number(reports, 'vi', 0)} báo cáo / reports{ratio}",
            soft_wrap=True,
        )

    return show


def _fill_month(
    services: Services,
    clock: DemoClock,
    sim: Simulator,
    period: tuple[datetime, datetime],
    err: Console,
) -> MonthStats:
    """The simulated days of ``period`` (start, end; time-compressed), then the roll-up."""
    start, end = period
    err.print(
        f"quá khứ mô phỏng / simulated past: {fmt.when(start, 'vi')} → {fmt.when(end, 'vi')}",
        soft_wrap=True,
    )
    month = Month(services, clock, sim.agents, seed=sim.seed, progress=_day_line(err))
    normal = services.rules.current()
    # Most simulated communes report only when their state changes (collector/demo/month.py):
    # in the simulated past a host counts as fresh until its next report, so that the
    # roll-ups see the communes' colours, not the gaps the demo leaves to stay fast.
    services.rules.replace(
        Rules.of(normal.catalogue.model_copy(update={"stale_after_s": MONTH_STALE_AFTER_S}))
    )
    try:
        stats = month.run(start, end)
        _after_history(services, err)
    finally:
        services.rules.replace(normal)
    off = ", ".join(f"{d:%d/%m}" for d in stats.days_off) or "-"
    err.print(
        f"{stats.days} ngày, {stats.working_days} ngày làm việc "
        f"(ngày thường được nghỉ / weekdays off: {off}), "
        f"{fmt.number(stats.reports, 'vi', 0)} báo cáo, {stats.snapshots} điểm lịch sử "
        f"({stats.elapsed_s:.0f} s) / {stats.days} days, {stats.working_days} working days, "
        f"{stats.reports} reports, {stats.snapshots} history points",
        soft_wrap=True,
    )
    return stats


def _after_history(services: Services, err: Console) -> None:
    """Roll up the simulated days (the daily roll-ups: working time in each colour per
    commune and day, each criterion's pass share), so that the demo's period reports have
    their figures. Called once, after the simulated days, while the clock still reads the
    simulated past's end."""
    started = time.monotonic()
    days = services.rollups.roll_pending()
    err.print(
        f"tổng hợp theo ngày / daily roll-ups: {len(days)} ({time.monotonic() - started:.0f} s)",
        soft_wrap=True,
    )


def _simulate(
    url: str,
    services: Services,
    clock: DemoClock,
    options: DemoOptions,
    operator: str,
    err: Console,
) -> tuple[Simulator, MonthStats | None]:
    """The simulated agents enroll (over HTTP, at the clock's instant: the start of the
    simulated period), the simulated days are filled when ``options.days``, the clock is
    released, this machine's agent reports, and every simulated agent reports once more,
    now, over HTTP; the attestations entered by ``operator``."""
    with _progress(err) as show:
        sim = Simulator(url, services, seed=options.seed, progress=show, operator=operator)
        asyncio.run(_with_client(sim, "setup"))
    month = None
    if options.days:
        month = _fill_month(services, clock, sim, (clock(), utcnow()), err)
    clock.release()
    if options.local_agent:
        err.print(
            f"this machine's agent: enrolling for commune {options.commune} and reporting once"
        )
        _local_agent(url, services, options.commune, err)
    with _progress(err) as show:
        sim.progress = show
        asyncio.run(_with_client(sim, "round"))
    return sim, month


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


@dataclass(frozen=True)
class DemoOptions:
    """What the simulated nation does."""

    seed: int = 1
    #: The commune this machine's own agent reports for.
    commune: str = "00070"
    local_agent: bool = True
    #: Days of history simulated before "now" (0: none, only now).
    days: int = DEFAULT_DAYS


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
    days: int = DEFAULT_DAYS,
) -> int:
    if not 0 <= days <= MAX_DAYS:
        raise ConfigError(f"--days {days}: give 0 to {MAX_DAYS} days of simulated history")
    options = DemoOptions(seed=seed, commune=commune, local_agent=local_agent, days=days)
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
        # Most simulated communes report only when their state changes: their hosts are
        # silent for weeks of simulated working time, and must not be retired for it.
        host_retire_after_days=MAX_DAYS,
    )
    # Its services read the demo's clock: the simulated instant while the past is filled
    # (the people, enrollments and attestations are made at the start of that past).
    clock = DemoClock(period_start(utcnow(), days) if days else None)
    services = open_services(cfg, migrate=True, clock=clock)  # its own database, made here
    services.units.commune(commune)  # refuse an unknown --commune before starting anything
    started = time.monotonic()
    server = BackgroundServer(create_app(services, cfg), host, port)
    settle_gc()  # a long-running process from here on, like `serve`
    url = server.start()
    err.print(f"collector: {url}  (database {path})")
    try:
        # The demo's people first: the operator signs the simulated attestations.
        logins = demo_users(services.accounts)
        # No point of the coverage history but the demo's own while it loads.
        with services.history.held():
            sim, _ = _simulate(url, services, clock, options, logins["operator"][0], err)
            summary = services.readiness.summary()
            # A point of the coverage history, now that every simulated agent reported.
            services.history.snapshot(min_interval_s=0, by_holder=True)
        stats = sim.stats
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
