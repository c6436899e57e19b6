"""``make bench``: performance figures, each side by side with a peer in the same run.

1. ingest: reports/s, values/s and latency of ``POST /api/v1/reports`` with simulated agents
   over HTTP, on SQLite and PostgreSQL, beside Debian's ``prometheus-pushgateway`` receiving
   the same values (bench/ingest.py);
2. nation: 50,000 hosts' latest results: evaluation passes, and ``/metrics`` scrape time,
   size and series count in the national parts, beside ``prometheus-node-exporter``'s
   scrape on this machine (bench/nation.py);
3. footprint: resident memory and CPU per cycle of the real ``ioc-agent run``, beside
   node_exporter scraped and Zabbix agent 2 polled at the same interval (bench/footprint.py);
4. drain: one real agent draining a 24-hour spool backlog, then thousands of simulated
   agents draining at once against one collector (bench/drain.py);
5. zabbix: the collector and Debian's Zabbix server 6.0 (PostgreSQL 15) fed the same
   reports in the same run, with the CPU each used (bench/zabbix.py).
6. retention: one province's hosts over 21 simulated days with the nightly roll-up and
   pruning, the database's size day by day, pruning while ingest runs, and the nation
   extrapolated (bench/retention.py).

Results are printed and written to ``docs/BENCHMARKS.md`` (``--out``), one section per
benchmark (bench/report.py): ``--only`` refreshes some and keeps the others. Everything runs
on loopback; every loop is bounded.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench import report
from bench.budget import Budget, expected_s, took
from bench.common import ROOT, postgres_server, progress, start_node_exporter

BENCHMARKS = tuple(report.HEADINGS)  # ingest, nation, footprint, drain, zabbix, retention


def node_exporter_scrape() -> dict[str, Any]:
    """node_exporter's own scrape on this machine: the yardstick for exposition speed."""
    ne, url = start_node_exporter()
    try:
        times, body = [], b""
        for _ in range(5):
            t = time.perf_counter()
            body = httpx.get(url, timeout=60).content
            times.append(time.perf_counter() - t)
    finally:
        ne.terminate()
        ne.wait(timeout=30)
    series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    return {"s": statistics.median(times), "series": series}


def _postgres_part(pg: dict[str, Any] | None) -> str:
    if pg is None:
        return ""
    row = report.row
    sc = pg["scrape"]
    rows = "\n".join(
        [
            row(
                "building the nation (in process, group commit)",
                f"{pg['ingest_reports_per_s']:.0f} reports/s",
            ),
            row("periodic pass, steady state", f"{pg['steady_pass'][0] * 1000:.0f} ms"),
            row(
                f"periodic pass after 1 host in 10 switched off ({pg['evening_pass'][1]:,} due)",
                f"{pg['evening_pass'][0]:.2f} s",
            ),
            row(
                "their reasons and evidence, all asked for at once",
                f"{pg['evening_details'][0]:.1f} s",
            ),
            row(
                "every commune's colour and statuses, from verdicts",
                f"{pg['all_statuses'][0]:.2f} s",
            ),
            row(
                "every commune from stored findings (reasons and evidence too)",
                f"{pg['all_from_findings'][0]:.1f} s",
            ),
            row("full re-judgement", f"{pg['full_rejudge'][0]:.1f} s"),
            row("`?part=readiness`", f"{sc['readiness']['s']:.2f} s"),
            row("`?part=hosts`, largest province", f"{sc['hosts_max']['s']:.2f} s"),
            row("everything in one scrape", f"{sc['all']['s']:.2f} s"),
        ]
    )
    return f"""
**The same on PostgreSQL 15** ({pg["hosts"]:,} hosts, a throwaway server on this machine;
`--pg-hosts` sets how many: each figure grows about linearly with the hosts):

| | PostgreSQL 15 |
|---|---|
{rows}
"""


def _per_1k(s: float, series: int) -> str:
    return f"{s / series * 1000 * 1000:.2f} ms"


def _evaluation_rows(n: dict[str, Any]) -> str:
    """The evaluation table: each pass or query, the communes it covers and its time."""
    row = report.row
    steady_s, _ = n["steady_pass"]
    evening_s, evening_n = n["evening_pass"]
    evening_detail_s, evening_detail_n = n["evening_details"]
    statuses_s, statuses_n = n["all_statuses"]
    details_s, details_n = n["all_details"]
    all_s, all_n = n["all_from_findings"]
    full_s, full_n = n["full_rejudge"]
    return "\n".join(
        [
            row(
                "periodic pass, every host reporting (steady state)",
                "0 due",
                f"{steady_s * 1000:.0f} ms",
            ),
            row(
                f"periodic pass after 1 host in 10 switched off ({n['switched_off']:,} hosts)",
                f"{evening_n:,} due",
                f"**{evening_s:.2f} s**",
            ),
            row(
                "those communes' reasons and evidence, all asked for at once",
                f"{evening_detail_n:,}",
                f"{evening_detail_s:.1f} s",
            ),
            row(
                "**every commune's colour and statuses, from its hosts' verdicts**",
                f"{statuses_n:,}",
                f"**{statuses_s:.2f} s**",
            ),
            row(
                "every commune's reasons and evidence after ingest, all asked for at once "
                "(every host's findings judged first)",
                f"{details_n:,}",
                f"{details_s:.1f} s",
            ),
            row(
                "every commune from its hosts' stored findings (statuses, reasons, evidence)",
                f"{all_n:,}",
                f"{all_s:.1f} s",
            ),
            row(
                "full re-judgement of every host's latest results (a catalogue reload)",
                f"{full_n:,}",
                f"{full_s:.1f} s",
            ),
        ]
    )


def _exposition_rows(sc: dict[str, Any], ne: dict[str, Any]) -> str:
    """The exposition table: each part of ``/metrics``, then node_exporter's scrape."""
    row = report.row
    rd, hm, al = sc["readiness"], sc["hosts_max"], sc["all"]
    return "\n".join(
        [
            row(
                "`?part=readiness` (communes, provinces, nation)",
                f"{rd['series']:,}",
                f"{rd['bytes']:,}",
                f"{rd['s']:.2f} s",
                _per_1k(rd["s"], rd["series"]),
            ),
            row(
                "`?part=hosts&province=NN`, largest province",
                f"{hm['series']:,}",
                "",
                f"{hm['s']:.2f} s",
                _per_1k(hm["s"], hm["series"]),
            ),
            row("all 34 `?part=hosts` scrapes together", "", "", f"{sc['hosts_sum_s']:.1f} s", ""),
            row(
                "everything in one scrape",
                f"{al['series']:,}",
                f"{al['bytes']:,}",
                f"{al['s']:.2f} s",
                _per_1k(al["s"], al["series"]),
            ),
            row(
                "node_exporter on this machine (HTTP, median of 5)",
                f"{ne['series']:,}",
                "",
                f"{ne['s'] * 1000:.0f} ms",
                _per_1k(ne["s"], ne["series"]),
            ),
        ]
    )


def _national_goals(n: dict[str, Any]) -> str:
    """The closing paragraph: the national goals, met or not, and the figures behind them."""
    sc = n["scrape"]
    steady_s = n["steady_pass"][0]
    evening_s, evening_n = n["evening_pass"]
    evening_detail_s, evening_detail_n = n["evening_details"]
    statuses_s = n["all_statuses"][0]
    details_s, details_n = n["all_details"]
    full_s = n["full_rejudge"][0]
    rd, hm, al = sc["readiness"], sc["hosts_max"], sc["all"]
    met = _met(max(statuses_s, evening_s) <= 1.0)
    return f"""Goals: national evaluation ≤ 1 s: {met} for
colours and statuses: every commune in {statuses_s:.2f} s, the pass after many hosts went
stale at once in {evening_s:.2f} s ({evening_n:,} communes), steady state
{steady_s * 1000:.0f} ms. Reasons and evidence are evaluated per commune when asked for
({evening_detail_s / max(evening_detail_n, 1) * 1000:.1f} ms a commune; all
{details_n:,} at once would take {details_s:.1f} s); a full re-judgement after a catalogue
change takes {full_s:.1f} s. National scrape ≤ 1 s: **met by each
part** (readiness {rd["s"]:.2f} s, largest province {hm["s"]:.2f} s); a single scrape of all
{al["series"]:,} series takes {al["s"]:.1f} s.
"""


def national_section(
    n: dict[str, Any], ne: dict[str, Any], pg: dict[str, Any] | None = None
) -> str:
    sc = n["scrape"]
    ratio = (sc["readiness"]["s"] / sc["readiness"]["series"]) / (ne["s"] / ne["series"])
    return f"""{report.HEADINGS["nation"]}

{report.stamp()}

{n["hosts"]:,} hosts in {n["communes"]:,} communes (every commune of the simulator's plan
that is not silent: its PASC machine with the full check set and planned faults, and office
PCs with host, security and basic network checks), one report each: {n["values"]:,} values.
Built through `services.ingest.ingest_many` (group commit, in process: this section is about
evaluation and exposition; HTTP ingest is section 1): {n["ingest_reports_per_s"]:.0f}
reports/s, {n["ingest_values_per_s"]:,.0f} values/s, each report judged against the
criteria (per-host findings and verdict) and its commune's colour and statuses re-evaluated
as it arrives.

**Evaluation.** A report's commune is evaluated as the report is stored. The periodic pass
(every minute) re-evaluates only the communes whose evaluation can have changed without a
report: a host turned stale, an attestation or waiver expired (`commune_status.next_eval_at`).
It decides their colours and criterion statuses (what `/metrics`, the alerts and the summary
show) from each host's *verdict*, a short string ingest keeps for each host: per
rule the worst status of the host's findings, per check whether it has a result. Statuses
combine by worst and best, so a commune's verdicts pool character by character, with no
JSON, reasons or evidence; `tests/collector/criteria/test_verdicts.py` checks that the statuses are
those the full evaluation gives. Ingest does the same for a report's commune. A commune's
reasons and evidence (which host said what) are evaluated when first asked for: its page,
its report, `GET /api/v1/communes/{{code}}` (`Readiness.settled_state`), from its hosts'
findings, which are judged then from their latest results (ingest judges statuses only) and
kept until the host's next report; only those views need them, and the nation's summary,
metrics and reports do not.

| evaluation | communes | time |
|---|---|---|
{_evaluation_rows(n)}

**Exposition.** `/metrics` rendered in process (no HTTP), in the parts the national
Prometheus configuration scrapes (`dashboards/prometheus/prometheus-national.yml`), and as
one scrape of everything:

| scrape | series | bytes | time | per 1,000 series |
|---|---|---|---|---|
{_exposition_rows(sc, ne)}

Per series, the readiness scrape costs {ratio:.2f} × node_exporter's.
{_postgres_part(pg)}
{_national_goals(n)}"""


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _nation_progress(phase: str, done: int, total: int) -> None:
    if done % 5000 < 250 or done == total:
        progress(f"nation: {phase} {done:,}/{total:,}")


def _only(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown benchmark {', '.join(unknown) or value!r}; "
            f"choose from {', '.join(BENCHMARKS)}"
        )
    return names


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__.split("\n\n")[0].strip('"'),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--only",
        type=_only,
        default=",".join(BENCHMARKS),
        metavar="NAMES",
        help=f"comma-separated benchmarks among {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "docs" / "BENCHMARKS.md",
        help="the report to write: the sections run are replaced, the others kept",
    )
    parser.add_argument(
        "--budget-s",
        type=float,
        default=600.0,
        metavar="S",
        help="the run's time budget: a warning before a section that would take the run "
        "past it, and at the end if the run took longer (the sections run all the same)",
    )
    parser.add_argument(
        "--no-postgres",
        action="store_true",
        help="skip the runs on PostgreSQL 15 (ingest, nation; zabbix always needs it)",
    )
    ingest = parser.add_argument_group("ingest and zabbix")
    ingest.add_argument("--agents", type=int, default=2000, help="simulated agents")
    ingest.add_argument(
        "--duration",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds of load on each collector, on the pushgateway and on Zabbix server",
    )
    ingest.add_argument(
        "--connections", type=int, default=32, help="connections of the load generators"
    )
    ingest.add_argument(
        "--values",
        type=int,
        default=30,
        help="values a report (the goal's 30; 0: a PASC machine's whole cycle)",
    )
    ingest.add_argument(
        "--nation-agents",
        type=int,
        default=50_000,
        help="agents of the national minute over HTTP (0: skip it)",
    )
    ingest.add_argument(
        "--nation-duration",
        type=float,
        default=50.0,
        metavar="S",
        help="seconds of the national minute's load, as fast as the collectors answer "
        "(every agent's first report is in after about 30-40 s)",
    )
    ingest.add_argument(
        "--nation-paced",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds of the national minute's next reports at the nation's own rate",
    )
    na = parser.add_argument_group("nation")
    na.add_argument("--hosts", type=int, default=50_000, help="hosts across the nation")
    na.add_argument(
        "--pg-hosts",
        type=int,
        default=10_000,
        help="hosts of the same figures on PostgreSQL 15 (each figure grows about linearly "
        "with the hosts: at 50,000 the PostgreSQL part alone takes 3 minutes)",
    )
    fp = parser.add_argument_group("footprint")
    fp.add_argument("--cycles", type=int, default=5, help="agent cycles measured")
    fp.add_argument(
        "--interval",
        type=float,
        default=5.0,
        metavar="S",
        help="agent interval and node_exporter scrape interval (≥ 5)",
    )
    dr = parser.add_argument_group("drain")
    dr.add_argument(
        "--fleet-agents",
        type=int,
        default=2000,
        help="simulated agents draining at once (0: skip the fleet)",
    )
    dr.add_argument(
        "--fleet-window",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds the fleet drain is measured",
    )
    dr.add_argument(
        "--fleet-spread",
        type=float,
        default=10.0,
        metavar="S",
        help="the fleet's first cycles fall within this many seconds",
    )
    rt = parser.add_argument_group("retention")
    rt.add_argument(
        "--retention-hosts", type=int, default=800, help="hosts of the province simulated"
    )
    rt.add_argument(
        "--retention-days",
        type=int,
        default=21,
        help="simulated days (raw reports are kept 14: the plateau shows from the 15th)",
    )
    rt.add_argument(
        "--retention-step",
        type=int,
        default=120,
        metavar="MIN",
        help="simulated minutes between two reports of a host (the real rate is 1)",
    )
    rt.add_argument(
        "--prune-window",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds of ingest measured alone and again while pruning runs",
    )
    return parser


#: The Debian peers each benchmark runs beside.
PEERS = {
    "ingest": ["prometheus-pushgateway", "wrk"],
    "nation": ["prometheus-node-exporter"],
    "footprint": ["prometheus-node-exporter", "zabbix_agent2"],
    "zabbix": ["wrk", "zabbix_server", "php", "psql"],
}
#: The Debian package of each peer whose command is not named after it.
PACKAGES = {
    "zabbix_server": "zabbix-server-pgsql",
    "zabbix_agent2": "zabbix-agent2",
    "php": "php-cli",
    "psql": "postgresql",
}


def _missing_peer(only: list[str]) -> str | None:
    """The first peer the chosen benchmarks need that is not installed, if any."""
    for peer in sorted({p for name in only for p in PEERS.get(name, [])}):
        if shutil.which(peer) is None:
            return peer
    return None


def _run_ingest(args: argparse.Namespace, work: Path) -> str:
    from bench.ingest import bench_ingest

    i = bench_ingest(
        args.agents,
        args.duration,
        args.connections,
        work / "ingest",
        postgres=not args.no_postgres,
        values=args.values,
        nation_agents=args.nation_agents,
        nation_duration_s=args.nation_duration,
        nation_paced_s=args.nation_paced,
    )
    print(json.dumps(i), file=sys.stderr)
    return report.ingest_section(i)


def _run_nation(args: argparse.Namespace, work: Path) -> str:
    from bench.nation import bench_nation_at_scale

    progress(f"nation: {args.hosts:,} hosts ...")
    n = bench_nation_at_scale(work / "nation", args.hosts, _nation_progress)
    ne = node_exporter_scrape()
    print(json.dumps({**n, "node_exporter": ne}), file=sys.stderr)
    pg = None
    with postgres_server(not args.no_postgres) as server:
        if server is not None:
            progress(f"nation: the same on PostgreSQL 15, {args.pg_hosts:,} hosts ...")
            pg = bench_nation_at_scale(
                work / "nation-pg", args.pg_hosts, _nation_progress, server.create_database()
            )
            print(json.dumps(pg), file=sys.stderr)
    return national_section(n, ne, pg)


def _run_footprint(args: argparse.Namespace, work: Path) -> str:
    from bench.footprint import bench_footprint

    f = bench_footprint(work / "footprint", args.cycles, args.interval)
    print(json.dumps(f), file=sys.stderr)
    return report.footprint_section(f)


def _run_drain(args: argparse.Namespace, work: Path) -> str:
    from bench.drain import bench_drain_fleet, bench_drain_one

    d, template = bench_drain_one(work / "drain")
    print(json.dumps(d), file=sys.stderr)
    fleet = None
    if args.fleet_agents > 0:
        fleet = bench_drain_fleet(
            work / "fleet",
            template,
            args.fleet_agents,
            window_s=args.fleet_window,
            spread_s=args.fleet_spread,
        )
        print(json.dumps(fleet), file=sys.stderr)
    return report.drain_section(d, fleet)


def _run_zabbix(args: argparse.Namespace, work: Path) -> str:
    from bench.zabbix import bench_zabbix

    with postgres_server() as pg:
        if pg is None:
            raise SystemExit("bench: zabbix needs PostgreSQL 15 (apt-get install postgresql)")
        z = bench_zabbix(
            work / "zabbix", pg, args.agents, args.connections, args.duration, args.values
        )
    print(json.dumps(z), file=sys.stderr)
    return report.zabbix_section(z)


def _run_retention(args: argparse.Namespace, work: Path) -> str:
    from datetime import timedelta

    from bench.retention import bench_retention

    folder = work / "retention"
    folder.mkdir(parents=True, exist_ok=True)
    r = bench_retention(
        lambda name: str(folder / f"{name}.db"),
        hosts=args.retention_hosts,
        days=args.retention_days,
        step=timedelta(minutes=args.retention_step),
        prune_window_s=args.prune_window,
        progress=progress,
    )
    r["stamp"] = report.stamp()  # when it was measured: the section may be rendered again
    print(json.dumps(r), file=sys.stderr)
    return report.retention_section(r)


#: Each benchmark: runs it under the work folder and returns its section of the report.
RUNNERS: dict[str, Callable[[argparse.Namespace, Path], str]] = {
    "ingest": _run_ingest,
    "nation": _run_nation,
    "footprint": _run_footprint,
    "drain": _run_drain,
    "zabbix": _run_zabbix,
    "retention": _run_retention,
}


def main() -> int:
    args = _parser().parse_args()
    # SIGTERM unwinds like Ctrl-C, so the collectors, agents and peers started here stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    peer = _missing_peer(args.only)
    if peer is not None:
        print(
            f"bench: {peer} is not installed (apt-get install {PACKAGES.get(peer, peer)})",
            file=sys.stderr,
        )
        return 2
    sections: dict[str, str] = {}
    failed: list[str] = []
    run = Budget(args.budget_s)
    chosen = [b for b in BENCHMARKS if b in args.only]
    expected_all = sum(expected_s(name, args) for name in chosen)
    progress(
        f"{', '.join(chosen)}: expected to take about {took(expected_all)} in all "
        f"(budget {took(args.budget_s)})"
    )
    with tempfile.TemporaryDirectory(prefix="ioc-bench-") as tmp:
        for name in chosen:
            expected = expected_s(name, args)
            warning = run.before(name, expected)
            if warning:
                progress(warning)
            progress(f"{name} (expected about {took(expected)}) ...")
            started = time.monotonic()
            try:
                section = RUNNERS[name](args, Path(tmp))
            except Exception as exc:  # one section failing must not lose the others
                run.after(name, time.monotonic() - started)
                failed.append(name)
                progress(
                    f"{name} FAILED after {took(run.took_s[name])} "
                    f"({type(exc).__name__}: {exc}); its section is left as it was"
                )
                continue
            run.after(name, time.monotonic() - started)
            progress(f"{name} took {took(run.took_s[name])}")
            sections[name] = report.with_took(section, run.took_s[name])
            # Written after each benchmark: an interrupted run keeps what it measured.
            report.write(args.out, sections, _last_run(args, run))
    progress(f"written {args.out}; {run.summary()}")
    overrun = run.overrun()
    if overrun:
        progress(overrun)
    if failed:
        progress(f"failed: {', '.join(failed)} (the line above each says why)")
    return 1 if failed else 0


def _last_run(args: argparse.Namespace, run: Budget) -> str:
    """The report's line on this run: what it took, and which sections it ran."""
    chosen = "" if len(args.only) == len(BENCHMARKS) else f" (`--only {','.join(args.only)}`)"
    return f"{run.summary().removesuffix('.')}{chosen}."


if __name__ == "__main__":
    raise SystemExit(main())
