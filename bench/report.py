"""docs/BENCHMARKS.md: one section per benchmark, each stamped with when and on what it was
measured, so that ``--only`` refreshes some sections and keeps the others as they were."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.budget import took
from bench.common import deb_version, machine, versions
from bench.imports import table as imports_table

#: Section headings, in the order of the file.
HEADINGS = {
    "ingest": "## 1. Ingest over HTTP, beside pushgateway",
    "nation": "## 2. The nation: evaluation and `/metrics`",
    "footprint": "## 3. Agent footprint, beside node_exporter",
    "drain": "## 4. Spool drain after a 24-hour outage",
    "zabbix": "## 5. Ingest beside Zabbix server",
    "retention": "## 6. Retention over a month: database size and pruning",
}

INTRO = """# Benchmarks

Measured by `make bench` (`python -m bench.run`; `--only footprint,drain` refreshes some
sections and keeps the others). Each section says when and on what it was measured. Load
generator, collector and peers share the machine; all traffic on loopback. Figures are from
one run: repeat for noise.

**Time budget.** `make bench` has 10 minutes (`--budget-s`, 600 s). Each section says
what it took under its stamp, and the line below what the last run took in all. Before
each section `bench.run` prints what it expects the section to take with the sizes asked
for (`bench/budget.py`: linear in the sizes, with costs per unit measured on the 2-core
development machine with other work beside it) and warns when the run would go past the
budget; it runs the section all the same, and warns again at the end if the run took
longer. The default sizes: loads of 10 s (`--duration`); the national minute at the
nation's size, 50,000 agents on each engine, for 50 s (`--nation-duration`: every agent's
first report is stored within about 30-40 s) and its paced part 10 s (`--nation-paced`); the
nation at 50,000 hosts on SQLite and 10,000 on PostgreSQL (`--pg-hosts`); the fleet drain
measured over 30 s (`--fleet-window`). The national minute's agents are written as
enrollment writes them, once, and the same agents and reports serve both engines (a
commune's cycle is drawn once and sent by each of its agents: drawing 50,000 took about
20 s); every peer is waited for with a timeout and a clear error. `python -m bench.run
--help` lists every size and its default.
"""

OUTRO = """## Where an ingested report's time goes, and what the goals would take

Measured on this machine (2026-12-05), one report of 30 values a request, SQLite, 2,000
agents over wrk (32 connections, 20 s runs): about 1,250 reports/s, with the collector at
0.96 cores and 0.77 ms of CPU a report (psutil). Its two busy threads share one interpreter
lock, so one process uses about one core. py-spy (`--gil`, who holds the lock) puts 62 % of
it in the writer thread (group commit) and 38 % in the event loop (HTTP, FastAPI, and
pydantic validating the body: 9 % of the whole). In the writer, SQLAlchemy (building,
compiling and running statements, converting parameters and rows) takes about half; the rest
is storing the report (merging the host's latest results, judging them into findings and a
verdict, JSON) and re-evaluating the commune's colour and statuses from its hosts' verdicts.

What made it faster, in order: a third of the collector's time once went to Python's garbage
collector (`serve` now freezes the start-up objects and collects the young generation every
10,000 allocations: 313 → ~470 reports/s); ingest no longer evaluates each report's commune
in full, with every criterion's reasons and evidence: those are evaluated when a commune's
page, report or API answer first asks for them (~470 → ~900); the collector loads every
agent's token as it starts (~900 → 1,116–1,205, PostgreSQL p99 114 → 52–59 ms); and
(2026-12-05) the reports table is read only for a report whose seq is not above its agent's
last stored one (a retry: none in the steady state), and a commune's evaluation reads its
hosts' verdicts, last report and due time in one statement instead of three (20 s runs,
alternated: SQLite 1,096 and 1,168 → 1,269 and 1,242 reports/s; PostgreSQL 778 → 890).

**Before and after the layered redesign** (2026-12-05, interleaved on this machine, other
work running beside it). SQLite, 2,000 agents, 30 s runs, two rounds alternating the code
before the redesign (commit c40650a), the redesign finished (58f89b4) and the code of this
report: one process 1,259 and 1,213 reports/s → 1,126 and 1,141 (−8 %) → 892 and 950
(−25 %); two processes 1,163 and 1,371 → 1,275 and 1,287 (+1 %) → 1,195 and 1,243 (−4 %);
p99 with one process 35 and 34 ms → 40 and 36 → 47 and 49. What came after the redesign
costs the rest at one process: rule durations and silent hosts judged at ingest, the change
log the daily roll-ups read (a commune's last logged state is kept with its status, so an
unchanged commune reads nothing more), and the Vietnamese reasons kept as catalogue messages
in each host's findings (judging a host's report about 140 → 210 µs).

**Ingest without findings, and msgspec** (2026-12-05, later). Ingest now judges a host's
report into its verdict and conditions only; the host's findings (every rule's reasons and
evidence) are judged from the same results when its commune's details are first asked for
(the same findings: `tests/collector/criteria/test_durations.py`). The body is decoded with
msgspec (`collector/domain/wire.py`; pydantic judges what it does not take), which also
writes the results' JSON for `reports.results`. The store path alone (2,000 hosts, groups
of 16, CPU time): 0.86 → 0.51 ms a report. The collector's CPU per
request under wrk (psutil, 15 s runs, other work beside it): 1.13 → 0.87 → 0.73 ms; the
code before the redesign (c40650a), alternated with it in the same minutes, 0.79 and 0.89 ms
against 0.73 and 0.72. On that busy machine (load average 2.6–3.6; 30 s runs alternated)
throughput barely moved: before the redesign 1,077 and 1,050 reports/s, now 1,108 and 960;
alone on the machine, section 1 of this report: 1,355 reports/s with one process on SQLite
(1,116 in the run before; 1,259 and 1,213 before the redesign), the national minute stored
in 43 s instead of 55. One process is bound by its interpreter lock, and the reads and
writes themselves (SQLite's execution and commit) are now half of the writer's time.
What a commune's details cost when asked for rose accordingly (section 2: "reasons and
evidence after ingest" now judges the hosts' results first: at 10,000 hosts 5.1 → 8.9 s
for every commune at once; the other rows unchanged). Those rows had already risen since
the run of 11:53 (3.0, 4.0, 3.3 and 8.7 s then; 9.0, 11.5, 11.3 and 22.7 s with the code
before this change, measured in this session): the Vietnamese reasons are kept as catalogue
messages and written, with Vietnamese figures, when read (docs/MESSAGES.md); a commune's
page pays about 3 ms for it.

**Reasons written when judged** (2026-12-06). Since ingest judges no findings, keeping the
Vietnamese reasons as catalogue messages bought nothing: a host's findings are judged only
when its commune's details are first read, and the kept messages were then written out at
that read and at every later read of the stored findings (JSON decoded again, level by
level, for each finding). The engine now writes its reasons in both languages when it
judges a host's findings, and stored findings hold plain text (those stored before are
still written out when read); the engine's reasons, which name their host, are no longer
looked up among nor kept in the 8,192 remembered texts, where at a nation's scale none
came back and the misses cost a quarter of judging a host; and `checks.fmt` writes a
figure by the steps of Babel's pattern without its machinery (~10 → ~4 µs a figure). Texts
byte for byte the same: `tests/collector/criteria/test_reasons_written.py` judges every
simulator fault's commune both ways, `tests/checks/test_messages.py` writes every catalogue
message both ways, `tests/checks/test_checks_fmt_locale.py` compares figures with Babel's.
On 2,000 simulated hosts (CPU time, best of 5, two rounds alternating the code before and
after): judging a host's findings 136 and 137 → 135 and 134 µs (writing the Vietnamese now
costs what keeping it did); evaluating a commune of 15 hosts from their stored findings
1.55 and 1.56 → 0.18 and 0.19 ms. Section 2 at 50,000 hosts with this change (one run
beside other work, load average 4.0 at the end against the table's 1.1):
those communes' reasons and evidence 8.4 → 3.9 s (3.3 at 11:53), every commune's after
ingest 21.5 → 17.2 s, every commune from stored findings 10.9 → 4.7 s (3.0 at 11:53), full
re-judgement 21.6 → 16.7 s (8.7 at 11:53). At 10,000 hosts, alternated on a busier machine
(load average 8): every commune's details after ingest 40.6 → 24.6 s, from stored findings
16.3 → 9.8 s. The full re-judgement does not return to 8.7 s: in the run of 11:53 the
Vietnamese reasons were English ones with Vietnamese words between them
(`disk_free_ratio = 0.527682 trên pc-0`), and judging a host took 32 µs on the same
2,000 hosts. Of today's 134 µs, statuses alone are 15, writing the reasons about 28, the
Vietnamese figures about 20, and the rest (evidence, English figures, building the
findings) about 60, spread over many small steps with no single one to remove.

**The direct route and statements built once** (2026-12-06). Three changes, measured
against the code before them (commit f766be6), alternating in the same minutes, and kept:

* `POST /api/v1/reports` is served by a plain Starlette route mounted ahead of FastAPI's
  (`agents.ingest_direct`: ARCHITECTURE.md, step 4), with the same steps, refusals and
  metrics; FastAPI's dependency injection and response model no longer run for each
  report. The collector's CPU a request under wrk (psutil, 15 s runs, SQLite, 1 process):
  0.658 and 0.663 ms → 0.568 and 0.555 ms.
* The group's insert of reports, update of agents and upsert of commune statuses are
  compiled once and run as the driver's `executemany` (`collector/storage/bulk.py`), the
  rows converted by the column types' own bind processors: SQLAlchemy no longer builds
  each row's parameters (the insert and update of a group of 16: 0.60 → 0.46 ms of CPU).
* The group's five reads (its agents' rows; its communes' hosts, attestations, waivers and
  previous statuses) are statements built once, the codes a parameter
  (`Database.among_param`), instead of built and given a cache key every group.

The store path alone (`micro`: 2,000 hosts, groups of 16, CPU time): 0.464 and 0.478 →
0.368 and 0.382 ms a report. The collector's CPU a request under wrk, all three: 0.691 and
0.658 ms → 0.514 and 0.485 ms (1,387 and 1,395 → 1,853 and 1,846 reports/s in those runs).
Section 1's load (`bench.run --only ingest`, 10 s runs, load average 1.5–2.4), the code
before and after, one run each, one after the other:

| reports/s (p99) | before | after |
|---|---|---|
| SQLite, 1 process | 1,453 (35.7 ms) | 1,941 (23.4 ms) |
| SQLite, 2 processes | 1,499 (152.1 ms) | 2,026 (218.5 ms) |
| PostgreSQL 15, 1 process | 1,041 (42.6 ms) | 1,336 (38.1 ms) |
| PostgreSQL 15, 2 processes | 1,349 (42.0 ms) | 1,873 (32.9 ms) |

Two SQLite processes still wait for each other's write lock: their p99 stays over 100 ms
(one process, 23 ms, is the better choice on SQLite). uvicorn already runs with httptools
and uvloop (`uvicorn[standard]` installs them and its `auto` choice takes them; py-spy
shows `HttpToolsProtocol` serving): nothing to change there. What is left in the writer is
the collector's own work (merging a report into the host's latest results, judging its
verdict, the commune's colour and statuses, JSON) and SQLite's commit; in the event loop,
uvicorn and Starlette's middleware. SQLAlchemy is no longer a large part of either.

**Two processes.** Until 2026-12-05 the "2 processes" rows loaded one process: wrk connected
while the second was still starting, and all 32 connections went to the first (the
benchmark now waits until each process listens, and a collector listens only once its app
has started). Measured properly, two processes on PostgreSQL take 922 → 1,271 reports/s in
section 1 (832 → 1,356 in a full run an hour before); in a 20 s run each collector was at
0.66 cores and PostgreSQL at 0.42: the two cores are full. On SQLite they add less (1,313 →
1,385, and 1,250 → 1,351 before; p99 33 → 76 ms): each writer waits for the other's write
transaction.

**Verdicts from the kept figures, one hop a group** (2026-12-06, later). Six changes,
each timed on its own against the code before it (commit 54e775e), and kept:

* Ingest judges a report's verdict with `engine.host_statuses`, straight from the host's
  latest results as kept (check, target, status, figures), instead of building an
  `Observation` per result and parsing its time; the newest time, which times the rules
  with a duration, is parsed once per distinct stamp; `host_verdict` takes its common cases
  first. The same statuses, verdicts and conditions
  (`tests/collector/criteria/test_host_statuses.py`: every simulator fault, judged both
  ways). Judging one host's 30 results for its verdict: 127 and 131 → 51 µs.
* The writer answers all of a group's waiting requests with one call into the event loop
  (`GroupCommitter.submit_async`), not a thread-safe hop and a chained future per request
  (`tests/collector/service/test_committer.py`): 9.7 and 9.8 → 3.1 and 3.2 µs of CPU a
  request for the hop alone (32 requests at a time, a store that does nothing).
* The accepted and duplicate counters are resolved once (`IngestMetrics.count_reports`):
  2.8 → 0.7 µs a request.
* A commune's criterion states are built and read back without a call per criterion
  (24 criteria: 9.3 → 6.0 µs to build, 7.4 → 5.0 µs to read); a result's stored entry reads the
  enums' `_value_`, not their `.value` property (128 → 37 ns each, twice a result).
* A bulk statement takes each row's values with one `itemgetter` and converts only the
  fields that have a bind processor (3.6–5.7 → 3.3–5.0 µs a row; the same parameters:
  `tests/collector/storage/test_bulk.py`).
* A report is merged into the host's latest results in their stored form
  (`LatestResult.entry`, `evaluation.judge_stored`): no `LatestResult` decoded from nor
  encoded back to the stored lists per entry, though a report replaces most of them; the
  same stored JSON (`test_host_statuses.py`). The store path: 0.280 and 0.288 → 0.270 and
  0.270 ms a report.

All six, against the code before them: the store path alone (msgspec-decoded reports as
served, 2,000 hosts, groups of 16, CPU time, best of 4, two rounds alternating): 0.339 and
0.337 → 0.283 and 0.280 ms a report. The collector's CPU a request under wrk (15 s runs,
SQLite, 1 process, alternating, load average 0.6–0.9): 0.536 and 0.541 ms → 0.473 and
0.463 ms (1,776 and 1,789 → 2,000 and 2,051 reports/s in those runs). Section 1's load,
with the first five (one run each, the code before and after one after the other on a
busy machine, load average 3.9–5.1): SQLite 1 process
1,039 (p99 170 ms) → 1,555 (51 ms), 2 processes 1,091 → 1,111; PostgreSQL 1 process 746 →
936, 2 processes 657 (316 ms) → 883 (111 ms). The code after, alone a few minutes later
(load average 1.5–1.9): SQLite 1 process 1,995 reports/s (p99 23.0 ms), 2 processes 1,904
(147 ms); PostgreSQL 1 process 1,288 (42.6 ms), 2 processes 1,677 (40.9 ms): on that run
PostgreSQL did less than the 1,873 measured before on a quieter machine, so that figure
says little either way. What is left per report in the writer: the group's reads, the
JSON of the host's latest results (read and written whole), the commune's colour and
statuses, and SQLite's commit; in the event loop, uvicorn and the middleware FastAPI and
Starlette put around every route (about ten layers).

**Records without pydantic, and another machine** (2026-12-06, later). The report model's
records are plain dataclasses now (`checks/schema.py`, for the agent's footprint: section
3); on the collector the ingest path builds its answer as a dataclass instead of a
validated pydantic model, and validates only what msgspec does not take, as before. The
full run of this report was made on a machine of the same kind (two cores) but another
kernel build and host, faster than the one of the runs above: the code before this change
(commit 1ca1ad6) and after it, section 1's load (`--only ingest --nation-agents 0`) one
after the other, two rounds (reports/s): SQLite one process 2,317 and 2,179 before, 2,303
and 2,402 after; two processes 2,235 and 2,464 → 2,374 and 2,632; PostgreSQL one process
1,542 and 1,454 → 1,924 and 2,136; two processes 2,147 and 2,019 → 1,932 and 2,030 (a
first run of the code before, alone: 2,469, 2,613, 1,747 and 2,386). So on this machine
the code from before already passed 2,000 reports/s on SQLite and, in some runs, on
PostgreSQL with two processes; the difference the records make is within the noise
except perhaps PostgreSQL with one process, and section 1's "met" is the machine's as
much as the code's. The goals stand as measured, in the same run as their peers.

So 2,000 reports/s on these two cores needs about 0.9 ms of CPU a report for everything
together (collectors, database, load generator); PostgreSQL with two processes uses about
1.5 ms. The direct route and the statements built once (above) took SQLite with one
process to about 1,940 reports/s (p99 23 ms) and PostgreSQL with two to about 1,870 (p99
33 ms); verdicts from the kept figures and one hop a group took the collector's CPU a
request about 13 % lower (0.46–0.47 ms under wrk), SQLite with one process to about 2,000
reports/s (p99 23 ms). The rest of the way (2,150 with margin: about 0.42 ms a request)
needs more cores (replicas on PostgreSQL scale with them: +38 to +63 % here from a second
process, on two cores shared with the database), or the rest of the writer's work (the
group's reads, JSON, SQLite's commit) and of the event loop's (uvicorn, and FastAPI's and
Starlette's layers around every route) made cheaper. The national
load itself is 833 reports/s (50,000 hosts, one report a minute): both engines carry it
(section 1).

Reproduce: `make bench`, or `.venv/bin/python -m bench.run --only footprint,drain` (needs
Debian's prometheus-pushgateway and prometheus-node-exporter; PostgreSQL 15 for ingest on
PostgreSQL; zabbix-agent2 for the footprint; zabbix-server-pgsql, zabbix-frontend-php,
php-cli and php-pgsql for `--only zabbix`). `--help` lists the sizes that can be changed.
"""


def stamp() -> str:
    """When, on what, and how busy the machine was (other work shares its cores)."""
    return (
        f"_Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, load average "
        f"{os.getloadavg()[0]:.1f} at the end; {versions()}._"
    )


def row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def ingest_section(i: dict[str, Any]) -> str:
    def line(name: str, p: str) -> str:
        return row(
            name,
            i[f"{p}_reports_s"],
            f"{i[f'{p}_values_s']:,}",
            f"{i[f'{p}_p50_ms']} ms",
            f"{i[f'{p}_p99_ms']} ms",
            i[f"{p}_failed"],
        )

    runs = [
        ("SQLite", 1, "ioc"),
        ("SQLite", 2, "ioc2"),
        ("PostgreSQL 15", 1, "pg"),
        ("PostgreSQL 15", 2, "pg2"),
    ]
    runs = [r for r in runs if f"{r[2]}_reports_s" in i]
    rows = [
        line(
            f"commune-ioc collector, {name}, {_processes(n)}"
            + (" (--reuse-port)" if n > 1 else ""),
            p,
        )
        for name, n, p in runs
    ]
    rows.append(line("prometheus-pushgateway", "pgw"))
    ratio = i["ioc_values_s"] / max(1, i["pgw_values_s"])
    table = "\n".join(rows)
    stored = "Stored: " + ", ".join(
        f"{name} {_processes(n)} {i[f'{p}_stored']:,} reports for {i[f'{p}_requests']:,} answers"
        for name, n, p in runs
    )

    # Per engine, its best way to use this machine's two cores (one process or two): the
    # fastest within the latency goal, or the fastest if none is within it.
    def rank(p: str) -> tuple[bool, int]:
        return (i[f"{p}_p99_ms"] < 100, i[f"{p}_reports_s"])

    best: dict[str, tuple[int, str]] = {}
    for name, n, p in runs:
        engine = name.split()[0]
        if engine not in best or rank(p) > rank(best[engine][1]):
            best[engine] = (n, p)
    rate = "; ".join(
        f"{engine} {_goal(i[f'{p}_reports_s'] >= 2000)} ({i[f'{p}_reports_s']:,}/s with "
        f"{_processes(n)})"
        for engine, (n, p) in best.items()
    )
    p99 = "; ".join(
        f"{engine} {_goal(i[f'{p}_p99_ms'] < 100)} ({i[f'{p}_p99_ms']} ms)"
        for engine, (n, p) in best.items()
    )
    return f"""{HEADINGS["ingest"]}

{stamp()}

{i["agents"]:,} simulated agents, each sending its reports in `seq` order, one report per
request of {i["values_per_report"]:g} values (the first checks of a PASC machine's cycle, as
the goal counts them), over {i["connections"]} connections for {i["duration_s"]:g} s; load
generator `wrk` (2 threads, bench/ingest.lua). Two processes share the port with
`--reuse-port`; the benchmark waits until both listen, and the kernel spreads wrk's
connections over them. The pushgateway receives the same values as
text exposition, one PUT per report, for the same time ({i["pgw_groups"]:,} groups held at
the end). {stored} (a report answered after wrk stopped counting is stored too).

| | reports/s | values/s | p50 | p99 | failed |
|---|---|---|---|---|---|
{table}
| **ratio collector (SQLite, 1 process) / pushgateway, values/s** | | **{ratio:.1f}** | | | |

The collector stores every report durably (fsync), judges it against the catalogue,
re-evaluates the commune's colour and criterion statuses and answers after commit; the
pushgateway keeps the last push in memory, but checks each push against every group it
holds, so its rate falls as groups grow. Goals, each engine as it does best on
these two cores (the faster set-up whose p99 is within 100 ms, if either is):
≥ 2,000 reports/s: {rate}; p99 < 100 ms: {p99}; values/s ≥ pushgateway's:
{_goal(ratio >= 1)}.
{_minute_part(i)}"""


def _minute_part(i: dict[str, Any]) -> str:
    """The national minute over HTTP, on each engine it was run on."""
    runs = [
        (p, name)
        for p, name in (("minute", "SQLite"), ("pgminute", "PostgreSQL 15"))
        if f"{p}_agents" in i
    ]
    if not runs:
        return ""

    def verdict(p: str, name: str) -> str:
        all_in = i[f"{p}_all_in_s"]
        if all_in is None:
            return (
                f"on {name}, **{i[f'{p}_agents'] - i[f'{p}_reported']:,} agents' reports "
                f"were not stored** within the {i[f'{p}_duration_s']:g} s"
            )
        return f"on {name}, every agent's report was stored **{all_in:.1f} s** after the first" + (
            " (within the minute)" if all_in <= 60 else " (**longer than the minute**)"
        )

    first = runs[0][0]
    lines = []
    for p, name in runs:
        who = f"commune-ioc collector, {name}, {_processes(i[f'{p}_processes'])}"
        lines.append(
            row(
                who + ", as fast as it answers",
                f"{i[f'{p}_reported']:,}",
                f"{i[f'{p}_reports_s']:,}",
                f"{i[f'{p}_values_s']:,}",
                f"{i[f'{p}_p50_ms']} ms",
                f"{i[f'{p}_p99_ms']} ms",
                i[f"{p}_failed"],
            )
        )
        if f"{p}_paced_reports_s" in i:
            lines.append(
                row(
                    f"{who}, paced at {i[f'{p}_paced_target_s']:,} reports/s",
                    "",
                    f"{i[f'{p}_paced_reports_s']:,}",
                    f"{i[f'{p}_paced_values_s']:,}",
                    f"{i[f'{p}_paced_p50_ms']} ms",
                    f"{i[f'{p}_paced_p99_ms']} ms",
                    i[f"{p}_paced_failed"],
                )
            )
    rows = "\n".join(lines)
    paced = [(p, name) for p, name in runs if f"{p}_paced_reports_s" in i]
    paced_text = ""
    if paced:
        kept = "; ".join(
            f"on {name}, {i[f'{p}_paced_reports_s']:,} reports/s answered with p50 "
            f"{i[f'{p}_paced_p50_ms']} ms and p99 {i[f'{p}_paced_p99_ms']} ms"
            + (
                ""
                if i[f"{p}_paced_reports_s"] >= 0.97 * i[f"{p}_paced_target_s"]
                else " (**behind the schedule**)"
            )
            for p, name in paced
        )
        paced_text = f"""
Then, on the same collectors, every agent's next reports at the nation's own rate: each
agent once a minute at its own moment ({i[f"{paced[0][0]}_paced_target_s"]:,} reports/s on a
fixed schedule, whatever the collector answers, for {i[f"{paced[0][0]}_paced_duration_s"]:g}
s): {kept}. This is the latency an agent sees in the national steady state.
"""
    return f"""
**The national minute over HTTP.** {i[f"{first}_agents"]:,} agents in
{i[f"{first}_communes"]:,} communes (about
{i[f"{first}_agents"] / max(1, i[f"{first}_communes"]):.0f} a commune), as a nation reporting
once a minute, each sending its report to collectors that have just started (empty database
but for the enrolled agents), over {i["connections"]} connections for
{i[f"{first}_duration_s"]:g} s, as fast as the collectors answer (not paced over the
minute): {"; ".join(verdict(p, name) for p, name in runs)}. Once every agent has reported,
wrk goes round again (their second reports).

| | agents reported | reports/s | values/s | p50 | p99 | failed |
|---|---|---|---|---|---|---|
{rows}
{paced_text}"""


def _processes(n: int) -> str:
    return "1 process" if n == 1 else f"{n} processes"


def _goal(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _agent2_row(f: dict[str, Any]) -> str:
    """Zabbix agent 2's row of the footprint table (a line break first), if it was run."""
    if "agent2_rss_mib" not in f:
        return ""
    return "\n" + row(
        f"zabbix_agent2 ({f['agent2_items']} passive checks a round)",
        f"{f['agent2_rss_mib']} MiB",
        f"{f['agent2_peak_rss_mib']} MiB",
        f"{f['agent2_uss_mib']} MiB",
        f"{f['agent2_cpu_ms_per_round']} ms",
        f"{f['agent2_cpu_ms_max_round']} ms",
    )


def _agent2_text(f: dict[str, Any]) -> str:
    """What the Zabbix agent 2 row is, and the agent's RSS against it."""
    if "agent2_rss_mib" not in f:
        return ""
    unsupported = ", ".join(f["agent2_unsupported"]) or "none"
    return f"""
Zabbix agent 2 (Go, Debian `zabbix-agent2`, `zabbix_agent2` with a minimal configuration:
passive checks on a loopback port, no active checks, no server) ran beside them and was asked
once an interval, as a Zabbix server polls it, for {f["agent2_items"]} items of the kind the
agent's host checks report (CPU load and use, memory, a file system's free space, uptime;
unsupported: {unsupported}), {f["agent2_rounds"]} rounds measured. The agent's RSS is
{f["agent_rss_mib"] / f["agent2_rss_mib"]:.2f} × Zabbix agent 2's.
"""


def footprint_section(f: dict[str, Any]) -> str:
    rss_ok = f["agent_rss_mib"] <= 2 * f["ne_rss_mib"]
    rss_moonshot = f["agent_rss_mib"] <= 1.5 * f["ne_rss_mib"]
    cpu_ok = f["agent_cpu_ms_per_cycle"] <= 50
    return f"""{HEADINGS["footprint"]}

{stamp()}

The real `ioc-agent run`, installed in an environment of its own with the agent's
dependencies only, as on a commune PC ({f["agent_environment"]}), enrolled against a real
collector, every {f["interval_s"]:.0f} s
for {f["cycles"]} cycles after the first, with a commune's default configuration (all
default checks, {f["results_per_report"]} results a report; the internet targets, the
portal and `dichvucong.gov.vn`, replaced by the collector and `localhost`). In the same run
node_exporter (`--no-collector.systemd`) is scraped at the same interval
({f["ne_scrape_bytes"]:,} bytes a scrape). psutil samples both processes at the end of each
cycle / scrape: CPU is user + system time, so time waiting on the network is not counted;
memory is RSS (median over the cycles), peak is the kernel's high-water mark (VmHWM).

| | RSS | peak RSS | unique (USS) | CPU per cycle / scrape | worst cycle / scrape |
|---|---|---|---|---|---|
{
        row(
            "ioc-agent run",
            f"{f['agent_rss_mib']} MiB",
            f"{f['agent_peak_rss_mib']} MiB",
            f"{f['agent_uss_mib']} MiB",
            f"{f['agent_cpu_ms_per_cycle']} ms",
            f"{f['agent_cpu_ms_max_cycle']} ms",
        )
    }
{
        row(
            "prometheus-node-exporter",
            f"{f['ne_rss_mib']} MiB",
            f"{f['ne_peak_rss_mib']} MiB",
            f"{f['ne_uss_mib']} MiB",
            f"{f['ne_cpu_ms_per_scrape']} ms",
            f"{f['ne_cpu_ms_max_scrape']} ms",
        )
    }{_agent2_row(f)}
{
        row(
            "**ratio agent / node_exporter**",
            f"**{f['rss_ratio']}**",
            f["peak_rss_ratio"],
            "",
            f"**{f['cpu_ratio']}**",
            "",
        )
    }

The first cycle (start-up, imports and the hourly throughput test against the collector)
took {f["agent_first_cycle_cpu_s"]} s of CPU (and the child interpreter that validates the
configuration file at start about 0.25 s more); RSS grew by {f["agent_rss_growth_mib"]} MiB
over the measured cycles. CPU time is read in 10 ms clock ticks: the per-cycle figure is the
total over all measured cycles divided by their number.

Goals: agent RSS ≤ 2 × node_exporter's: {_goal(rss_ok)} (≤ 1.5 ×: {_goal(rss_moonshot)});
≤ 50 ms CPU per cycle: {_goal(cpu_ok)}.
{_agent2_text(f)}

The agent is a Python process: the interpreter and what `ioc-agent run` imports take
{f["agent_import_rss_mib"]} MiB of resident memory before the first check runs
(`import agent.cli, agent.daemon`, measured in this run), {f["import_ratio"]} × node_exporter's
whole RSS. What each step of the run path adds, in a fresh interpreter of the agent's
environment (`python -m bench.imports --python AGENT-VENV/bin/python`; each row is what that
import added to the rows above it, so a library shows where it is first imported):

{_imports_table(f)}

The first cycle then adds a few MiB more: the worker threads that run blocking calls
(psutil, name resolution, HTTP), the operating system's trust store for the HTTPS checks
(about 0.5 MiB) and the message catalogue (`checks/messages.yaml`) for the English text of
every result (about 0.3 MiB, read from libyaml's events; 1.2 MiB through the loader).

What was cut, and why it matters. The tree before these cuts, measured the same evening in
the same way (agent-only environment, the same configuration and collector, 5 s cycles,
without the peers beside it): 58.5 MiB; without httpx 54.2 MiB; without CLDR's locale data
50.4 MiB. Beside the peers, as in the table above: 50.7 MiB (USS 37.8) before, 49.0 and
49.4 MiB (USS 36.0, 36.2) in two runs with the allocator's arenas capped, freed pages
handed back after each cycle and the catalogue read by libyaml; 49.4 MiB (USS 36.1, peak
49.6) before and 49.0 MiB (USS 35.7, peak 49.0) after the catalogue was read from
libyaml's events, then 48.8 MiB (USS 35.3, peak 48.8) without the probe table, and
48.5 MiB (USS 35.4) in the last full run with pydantic, beside node_exporter's 19.8, 19.7,
19.6 and 19.6 MiB (2.50, 2.48, 2.49 and 2.48 ×).

* pydantic is off the run path (about 12 MiB: its library, loaded whole by the first
  model, and the compiled validators of the report and of 45 configuration models). The
  report and every check's configuration are frozen dataclasses whose rules are written in
  their annotations (`checks/schema.py`): the agent builds, copies and writes them without
  pydantic (msgspec, about 1.3 MiB, writes the JSON and checks the types of what the agent
  reads back: its spool, its state, the collector's answers), while pydantic validates the
  same classes by the same annotations where input comes from outside, with the same
  messages. `ioc-agent run` (and the Windows service) validates its configuration file in
  a short-lived child interpreter (`agent/configcheck.py`) that hands the validated records
  back (once, at start: about 0.25 s of CPU and 40 MiB of its own for that quarter of a
  second, not counted in the table above); the collector validates reports with pydantic
  as before. The run path's imports
  went from 44.0 to 35.0 MiB (`bench.imports`, the same environment and evening), and the
  running agent from 48.5 to under 39 MiB;
* Babel is imported only where a message needs it (a percentage; a date is written by
  `checks/fmt.py` itself, tested against Babel), and the agent's version is written in
  `agent/__init__.py` instead of read through `importlib.metadata`: about 1.3 MiB more;
* httpx, httpcore, h11 and idna are gone from the agent (about 1.6 MiB at import, more
  at run time: its connection pool and anyio's streams): reports, levels, enrollment,
  `host.clock`, `net.throughput`, the HTTP probes and the CUPS check use the standard
  library's `http.client` with the one shared TLS context of `checks/tls.py`
  (`checks/http.py`); httpx is now a dependency of the collector only, and the Windows
  bundle no longer carries it;
* CLDR's locale data (about 3.6 MiB for English with its root locale) is no longer loaded
  to write the results' English text: `checks/fmt.py` gives Babel's number and date
  patterns the two languages' number symbols itself (tested to write every figure exactly
  as Babel does with the real locale);
* rich is imported only by `ioc-agent check`'s tables, `agent/probes.py` (about 0.16 MiB)
  only by `ioc-agent probe`; pysnmp, paramiko and cryptography only when a check whose
  target is configured needs them (`tests/agent/test_agent_imports.py` fails when
  `ioc-agent run` with the default configuration loads one of them);
* between cycles (`agent/memory.py`): glibc's allocator is capped at two arenas before the
  first worker thread starts (about 1.1 MiB: each worker kept an arena of its own) and
  hands back what a cycle freed (`malloc_trim`, under 0.1 ms; about 0.8 MiB, and half the
  growth over the measured cycles); the remembered message texts and figures are emptied
  past 256 (the collector's 8,192 would fill over days with figures that never come back:
  about 4 MiB of objects, 11 MiB resident, not visible in a run of 10 cycles);
* before pydantic left the run path, its `defer_build` was measured and not kept: the
  default configuration validated every check's configuration model before the first
  cycle, so nothing was deferred for long (the same RSS at start-up, 0.8 MiB more after a
  cycle);
* the message catalogue is read from libyaml's events (`checks.messages.read_catalogue`),
  no longer through the loader, which built a node for every scalar of the file before
  making the dict: those 1.2 MiB of small objects, once dropped, stayed resident between
  the messages kept (0.8 MiB more after the first cycle, measured alone; 0.4 MiB of RSS and
  USS and 0.6 MiB of peak in the runs above). The loader's resolver still decides what is a
  text, and a file of any other shape is read by the loader, so the messages and the errors
  are the same; `tests/agent/test_agent_imports.py` fails when a cycle builds a YAML node
  graph again;
* measured and not kept, each under 0.1 MiB: emptying the `re` and `typing` caches. What
  the run path imports is used by a cycle (`urllib.request` reads the proxies for every
  connection), and the modules of the checks without a target by default (SSH, SNMP) hold
  under 0.3 MiB each;
* earlier: one TLS context shared by every check instead of one per check and cycle (loading
  the CA bundle cost ~80 ms of CPU each time), and `vc.quality`'s 50 packets exchanged by a
  thread of its own instead of asyncio's datagram and timer machinery.

What stays, and what the moonshot (≤ 1.5 ×) would take: asyncio with OpenSSL (about
9.7 MiB together; OpenSSL alone about 6, needed for TLS to the collector), SQLite (the spool),
psutil, click, PyYAML, msgspec and the agent's own modules with every check (about 8 MiB).
The next step would be the cycle on threads instead of asyncio (about 4 MiB: every check's
`fetch` is a coroutine today), and the checks without a configured target left unimported.
"""


def _imports_table(f: dict[str, Any]) -> str:
    """The table of bench/imports.py, when the run measured it."""
    if not f.get("imports"):
        return "(not measured in this run)"
    return imports_table(f["imports"])


def drain_section(d: dict[str, Any], fleet: dict[str, Any] | None) -> str:
    one_ok = d["total_s"] <= 60
    batches = -(-d["reports"] // d["batch_size"])
    pausing = (batches - 1) * 0.75 * d["batch_pause_s"]  # jitter: 50-100 %, 75 % on average
    per_batch_ms = max(0.0, d["drain_s"] - pausing) / batches * 1000
    text = f"""{HEADINGS["drain"]}

{stamp()}

**One agent.** The real `ioc-agent run --once` checked the machine while the collector was
down and spooled its report ({d["results_per_report"]} results, {d["report_json_bytes"]:,}
bytes of JSON); copied into a 24-hour backlog of {d["reports"]:,} reports (one a minute, in
the spool: {d["spool_bytes"]:,} bytes compressed). Then the collector was started again
(SQLite) and the real `ioc-agent run` (60 s interval) with the default pacing: batches of
{d["batch_size"]}, a pause of 50-100 % of {d["batch_pause_s"]} s between batches, at most
half an interval of sending per cycle.

| | figure |
|---|---|
| agent start → first batch acknowledged | {d["to_first_ack_s"]} s |
| first → last batch acknowledged | {d["drain_s"]} s ({d["reports_per_s"]} reports/s) |
| **agent start → backlog drained** | **{d["total_s"]} s** in {d["cycles"]} cycle(s) |

Before the first batch: the daemon's random start offset (up to 10 % of the interval, so that
agents restarted together do not report together), start-up and the first cycle's checks.

Goal: a 24-hour backlog drained in ≤ 60 s: {_goal(one_ok)}. Most of the drain is
the pacing itself ({batches - 1} pauses, ~{pausing:.0f} s); sending and the collector's
answers took {_batch_time(per_batch_ms)}. A drain that does not fit in half an
interval (30 s) goes on at the next cycle, 60 s later. An agent that was
running through the outage comes back at its first cycle after its backoff expires: after
many failures that is a uniform draw within `backoff_cap_s` (300 s), which spreads a
province's agents over five minutes, on purpose.
"""
    if fleet is None:
        return text
    f = fleet
    status = ", ".join(f"{k}: {v:,}" for k, v in sorted(f["status"].items()))
    total_h = f["projected_total_s"] / 3600 if f["projected_total_s"] else float("nan")
    return (
        text
        + f"""
**The fleet.** {f["agents"]:,} simulated agents (real enrollment tokens, one HTTP client
and connection each) come back within {f["spread_s"]:.0f} s of each other, each with a
24-hour backlog of {f["backlog"]:,} copies of that report, and drain with the agent's policy
(batches, jittered pauses, half-interval budget, `Retry-After`, full-jitter backoff after a
timeout, 10 s request timeout); collector `ioc-collector serve` on SQLite, measured over a
{f["window_s"]:.0f} s window.

| | figure |
|---|---|
{
            row(
                "reports stored",
                f"{f['stored']:,} ({f['reports_per_s']:,} reports/s), "
                f"{f['duplicates']:,} duplicates",
            )
        }
| requests | {f["requests"]:,} ({status}) |
{
            row(
                "503s by the limit reached (the collector's count)",
                ", ".join(f"{k}: {v:,}" for k, v in f.get("shed_by_limit", {}).items()) or "none",
            )
        }
| latency of acknowledged batches, p50 / p99 | {f["p50_ms"]:,} ms / {f["p99_ms"]:,} ms |
| collector CPU | {f["collector_cpu_cores"]} cores (load generator {f["generator_cpu_cores"]}) |
{
            row(
                "load generator's own event loop late, p50 / p99",
                f"{f['generator_lag_p50_ms']:,} ms / {f['generator_lag_p99_ms']:,} ms",
            )
        }
| collector peak RSS | {f["collector_peak_rss_mib"]:,} MiB |
| agents fully drained in the window | {f["drained_agents"]:,} |
| all backlogs ({f["agents"] * f["backlog"]:,} reports) at that rate | {total_h:.1f} h |

Nothing is lost: a batch that timed out stays in the agent's spool and is sent again (the
collector acknowledges what it already stored as duplicates).
{_fleet_reading(f, per_batch_ms)}
"""
    )


def _batch_time(per_batch_ms: float) -> str:
    """What sending a batch took beside the pauses (estimated at their mean jitter)."""
    if per_batch_ms < 5:
        return "the rest, too little to tell from the pauses' jitter (under ~5 ms a batch)"
    return f"the rest, ~{per_batch_ms:.0f} ms a batch"


def _fleet_reading(f: dict[str, Any], per_batch_ms: float) -> str:
    """What the fleet figures say, from the figures."""
    timeouts = f["status"].get("timeout", 0)
    shed = sum(v for k, v in f["status"].items() if k in ("429", "503"))
    ok = f["status"].get("2xx", 0)
    if timeouts > ok + shed:
        return (
            f"Alone, an agent's batch is answered in ~{per_batch_ms:.0f} ms; with thousands "
            "at once the collector reads every batch into memory (hence its peak RSS), "
            "answers only a few before the agents' timeout, and goes on storing batches whose "
            "agents have already given up and will send them again: congestion collapse. "
            "The shedding limits (`max_ingest_inflight`, `max_ingest_inflight_bytes`, "
            "`max_ingest_wait_s`: 503 with `Retry-After` before the body is read) did not "
            "keep the agents' wait under their timeout in this run."
        )
    if shed:
        late = (
            f" {timeouts:,} batches still timed out at the agents, which send them again."
            if timeouts
            else " No batch timed out."
        )
        counted = sum(f.get("shed_by_limit", {}).values())
        if timeouts and counted > shed:
            late += (
                f" The collector counted {counted:,} refusals and the agents received "
                f"{shed:,}: {counted - shed:,} of the timeouts were requests it had already "
                "refused, whose answer did not reach the agent within its timeout."
            )
        return (
            f"The collector shed load with {shed:,} refusals (429/503 with `Retry-After`), "
            "which the agents honour; the drain is paced by the collector's ingest rate." + late
        )
    return "The collector absorbed the storm; the drain is paced by the agents."


_ZABBIX_HEAD = (
    row(
        "",
        "requests/s",
        "values/s acknowledged",
        "values/s stored",
        "p50",
        "p99",
        "CPU used",
        "values per core-second",
        "load generator CPU",
    )
    + "\n|"
    + "---|" * 9
)


def _zabbix_rows(z: dict[str, Any]) -> str:
    """One row per side: requests/s, values/s acknowledged and stored, latency, CPU and values
    per core-second."""

    def line(name: str, p: str, used: str) -> str:
        per_core = z[f"{p}_values_per_core_s"]
        return row(
            name,
            f"{z[f'{p}_requests_s']:,}",
            f"{z[f'{p}_values_s']:,}",
            f"**{z[f'{p}_stored_values_s']:,}**",
            f"{z[f'{p}_p50_ms']} ms",
            f"{z[f'{p}_p99_ms']} ms",
            f"{z[f'{p}_cpu_s']} s ({used})",
            f"{per_core:,}" if per_core else "",
            f"{z[f'{p}_generator_cpu_s']} s",
        )

    return "\n".join(
        [
            line("commune-ioc collector, SQLite, 1 process", "ioc", "collector"),
            line("commune-ioc collector, PostgreSQL 15, 1 process", "pg", "collector + PostgreSQL"),
            line("Zabbix server 6.0, PostgreSQL 15", "zbx", "zabbix_server + PostgreSQL"),
        ]
    )


def _zabbix_goal(z: dict[str, Any]) -> str:
    """The collector's best engine against Zabbix, stored values/s and per core-second."""
    best = max(z["ioc_stored_values_s"], z["pg_stored_values_s"])
    ratio = best / max(1, z["zbx_stored_values_s"])
    acked = best / max(1, z["zbx_values_s"])
    core_ratio = max(z["ioc_values_per_core_s"] or 0, z["pg_values_per_core_s"] or 0) / max(
        1, z["zbx_values_per_core_s"] or 0
    )
    return (
        f"Collector (best engine) / Zabbix: **{ratio:.2f}** × its values/s stored "
        f"({acked:.2f} ×\nits values/s acknowledged), {core_ratio:.2f} × its values per "
        f"core-second. Goal, values/s ≥\n0.6 × Zabbix server's in the same run: "
        f"{_goal(ratio >= 0.6)}; moonshot ≥ 1 ×:\n{_goal(ratio >= 1)}."
    )


def zabbix_section(z: dict[str, Any]) -> str:
    """The collector and Zabbix server fed the same reports in the same run."""
    return f"""{HEADINGS["zabbix"]}

{stamp()[:-2]}; zabbix-server-pgsql {deb_version("zabbix-server-pgsql")}._

The same {z["agents"]:,} simulated agents' reports of {z["zbx_values_per_request"]:g} values,
over {z["connections"]} connections for {z["duration_s"]:g} s each, one side after the other
on the same two cores: the collector (1 process) loaded by `wrk` as in section 1, on SQLite
and on a throwaway PostgreSQL 15; then Zabbix server on a database of its own on that same
PostgreSQL, with one host per agent ({z["zbx_hosts"]:,} hosts, {z["zbx_items"]:,} trapper
items, created through its API in {z["zbx_provision_s"]:g} s), each request one host's
{z["zbx_values_per_request"]:g} values in the sender protocol (one TCP connection a request:
the trapper closes it after answering), from {z["zbx_generators"]} Python generator
processes of threads; {z["zbx_trappers"]} trappers, {z["zbx_syncers"]} history syncers
(bench/zabbix.py). Values/s acknowledged count the load's seconds; values/s stored count
from the load's start until the last value was in the database (the collector answers after
commit: the same figure; Zabbix writes its history after answering). CPU is user + system
time of the server's processes and of its PostgreSQL's over that same time; values per
core-second are the values stored divided by it. The load generators' CPU is theirs alone
(wrk: C; the sender generator: Python), on the same cores.

{_ZABBIX_HEAD}
{_zabbix_rows(z)}

Stored: the collector {z["ioc_stored"]:,} reports for {z["ioc_requests"]:,} answers on
SQLite and {z["pg_stored"]:,} for {z["pg_requests"]:,} on PostgreSQL (a report answered after
wrk stopped counting is stored too); Zabbix acknowledged {z["zbx_processed"]:,} values
("processed" in its answers; {z["zbx_failed"]:,} failed, {z["zbx_errors"]:,} connection
errors) and {z["zbx_stored"]:,} were in `history` {z["zbx_settle_s"]:g} s after the load
stopped.

What each side does per value. **Zabbix** answers once its trapper has handed the values to
the preprocessing manager, which passes them on to the history cache; its history syncers
write them to `history` (and trends) afterwards, in batches; no trigger was defined, so none
was evaluated. **The collector** answers after the report is committed (fsync): it stores the
report, judges each value against the criteria into the host's findings and verdict, and
re-evaluates the commune's colour and criterion statuses.

{_zabbix_goal(z)}
"""


#: The line under the introduction that says what the last run took, section by section.
LAST_RUN = "**Last run.** "


def with_took(section: str, seconds: float) -> str:
    """``section`` with a line saying what this run of it took, under its heading and stamp
    (after the first paragraph that follows the heading)."""
    line = f"This run took {took(seconds)}."
    head, sep, rest = section.partition("\n\n")
    stamp_, sep2, body = rest.partition("\n\n")
    if stamp_.startswith("_Measured"):
        return f"{head}{sep}{stamp_}\n{line}{sep2}{body}"
    return f"{head}\n\n{line}\n\n{rest}"


def write(path: Path, sections: dict[str, str], last_run: str | None = None) -> None:
    """Replace the sections in ``sections`` (keys of HEADINGS) and keep the others;
    ``last_run``: what this run took (its sections and total), under the introduction (None:
    keep the line of the run before)."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    kept: dict[str, str] = {}
    blocks = re.split(r"(?m)^(?=## )", old)
    for block in blocks:
        for key, heading in HEADINGS.items():
            if block.startswith(heading):
                kept[key] = block.rstrip() + "\n"
    if last_run is None:
        last_run = next(
            (line for line in blocks[0].splitlines() if line.startswith(LAST_RUN)), ""
        ).removeprefix(LAST_RUN)
    kept.update({k: v.rstrip() + "\n" for k, v in sections.items()})
    body = "\n".join(kept[k] for k in HEADINGS if k in kept)
    top = f"{INTRO}\n{LAST_RUN}{last_run}\n" if last_run else INTRO
    path.write_text(f"{top}\n{body}\n{OUTRO}", encoding="utf-8")


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f}"


def _gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB"


DAY_HEADER = (
    "| day | reports stored | reports kept | pruned | changes | commune days | criterion days "
    "| size MiB | roll-ups MiB | night pass s |\n|---|---|---|---|---|---|---|---|---|---|"
)


def _retention_rows(r: dict[str, Any]) -> str:
    """The table of days: what was stored, kept and how big the database was after the
    night's pass."""
    out = []
    for d in r["days"]:
        day = datetime.fromisoformat(d["day"])
        rows = d["rows"]
        out.append(
            row(
                f"{day:%a %d %b}" + ("" if d["working"] else " (off)"),
                f"{d['reports_stored']:,}",
                f"{rows['reports']:,}",
                f"{d['pruned']:,}",
                f"{rows['commune_changes']:,}",
                f"{rows['commune_days']:,}",
                f"{rows['criterion_days']:,}",
                _mib(d["size"]),
                _mib(d["rollup_bytes"]),
                f"{d['night_s']:.2f}",
            )
        )
    return "\n".join(out)


def _plateau(r: dict[str, Any]) -> str:
    """When the size stopped growing, and what grows after."""
    days = r["days"]
    k = r["reports_days"]
    first = next((i for i, d in enumerate(days) if d["pruned"]), None)
    if first is None:
        return f"Nothing was pruned in {len(days)} days (raw reports kept {k} days): no plateau."
    sizes = [d["size"] for d in days]
    raw = [d["size"] - d["rollup_bytes"] for d in days]
    grown = sizes[-1] - sizes[first]
    rollups = days[-1]["rollup_bytes"] - days[first]["rollup_bytes"]
    per_day = rollups / max(len(days) - 1 - first, 1)
    return f"""**Plateau.** The first night that pruned was after {days[first]["day"]} (the
first day with reports left the {k} days kept); from then on each night deletes the day that
leaves the window, and SQLite reuses the freed pages for the next day's reports. The file
held {_mib(max(sizes[: first + 1]))} MiB then and {_mib(sizes[-1])} MiB on the last day
({_mib(grown)} MiB more over {len(days) - 1 - first} days, while the roll-ups grew by
{_mib(rollups)} MiB within it, in pages that pruning freed); the file less the roll-ups:
{_mib(max(raw[: first + 1]))} MiB at most before and {_mib(max(raw[first:]))} MiB at most
after. What still grows is the roll-ups, about
{per_day / 1024:,.0f} KiB a day (a row for every commune of the register, working day or
not), kept {r["rollup_years"]} years. The change log stayed at
{days[-1]["rows"]["commune_changes"]:,} rows: the simulated communes kept their colours
(it grows with changes, not with reports; each commune's last change is kept)."""


def _rates(r: dict[str, Any]) -> str:
    rates = r.get("rates")
    if not rates:
        return ""
    parts = "; ".join(
        f"one report every {x['step_min']} min: {x['reports']:,} reports, "
        f"{x['per_report']:,.0f} bytes a report on disk ({x['table_per_report']:,.0f} in "
        "the reports table with its indexes)"
        for x in rates
    )
    ratio = rates[-1]["table_per_report"] / rates[0]["table_per_report"]
    return f"""**Storage is linear in reports.** Two more runs, each on a fresh database,
{rates[0]["hosts"]:,} hosts of the same province ({rates[0]["pasc"]:,} of them PASC
machines, whose reports are the larger: more bytes a report than the month's mix) for
{rates[0]["days"]} working days without pruning: {parts}. The reports table costs the
same per report at both rates (ratio {ratio:.2f}); the file's growth per report is higher
at the slower rate only because per-day costs (the roll-ups of every commune) are shared
by fewer reports. So the sizes below scale linearly to one report a minute."""


def _prune_cost(r: dict[str, Any]) -> str:
    p = r.get("prune")
    if not p:
        return ""
    n = r["nation"]
    drop = 1 - p["ingest_while_pruning_per_s"] / max(p["ingest_alone_per_s"], 1e-9)
    nightly_s = n["reports_per_working_day"] / max(p["prune_reports_per_s"], 1e-9)
    per_minute = r["pass_batches"] * p["batch"]
    bounded_min = max(nightly_s / 60, n["reports_per_working_day"] / per_minute)
    pruned = f"{p['pruned_reports']:,} in {p['pruning_s']:.1f} s"
    table = "\n".join(
        [
            row("ingest alone", f"{p['ingest_alone_per_s']:,.0f} reports/s"),
            row(
                "ingest while pruning",
                f"{p['ingest_while_pruning_per_s']:,.0f} reports/s ({drop:.0%} fewer)",
            ),
            row("reports pruned", f"{pruned} ({p['prune_reports_per_s']:,.0f}/s)"),
            row("prune calls (one batch of each kind)", f"{p['prune_batches']:,}"),
            row(
                "longest prune call (the write lock held at most this)",
                f"**{p['prune_batch_max_s'] * 1000:,.0f} ms**",
            ),
            row("median prune call", f"{p['prune_batch_median_s'] * 1000:,.0f} ms"),
        ]
    )
    return f"""**Pruning while ingest runs.** On the month's database ({p["reports_before"]:,}
reports held), the next morning: one thread ingests the province's reports through
`ingest_many` as fast as it can, {p["window_s"]:.0f} s alone, then again while another
thread prunes (retention cut to none, so that every report before today is due at once:
`Rollups.prune(max_batches=1)` in a loop, batches of {p["batch"]:,} rows, each its own
transaction).

| | |
|---|---|
{table}

Ingest and pruning share one interpreter and (on SQLite) one writer; ingest waits at most
one batch. At this rate the nation's daily prune ({n["reports_per_working_day"]:,.0f}
reports of a working day at one a minute, on one database) would take
{nightly_s / 3600:,.1f} hours of deleting; the background pass deletes at most
{r["pass_batches"]} batches of each kind a minute ({per_minute:,} reports), so it spreads
over about {bounded_min / 60:,.1f} hours: started after midnight, it is done before the
offices open, while the commune PCs are off and little is ingested."""


def _nation_part(r: dict[str, Any]) -> str:
    n = r["nation"]
    years = r["rollup_years"]
    held = n["plateau_reports"] / max(n["reports_per_working_day"], 1)
    plateau = f"**{_gb(n['plateau_bytes'])}** ({n['plateau_reports']:,.0f} reports)"
    table = "\n".join(
        [
            row("raw reports, a working day", f"**{_gb(n['bytes_per_working_day'])}**"),
            row(f"raw reports at the plateau ({r['reports_days']} days kept)", plateau),
            row(
                "roll-ups, a day (every commune; criteria of every reporting one)",
                f"{n['rollup_bytes_per_day'] / 2**20:,.2f} MiB",
            ),
            row("roll-ups, a year", _gb(n["rollup_bytes_per_year"])),
            row(
                f"roll-ups, {years} years (their retention)",
                _gb(n["rollup_bytes_per_year"] * years),
            ),
        ]
    )
    return f"""**The nation at one report a minute** ({r["nation_communes"]:,} communes,
{r["nation_hosts"]:,} hosts), scaled from the province:
reports a working day {n["reports_per_working_day"]:,.0f} (every host once a minute of the
{r["working_min"]:.0f} working minutes); {n["nation_bytes_per_report"]:,.0f} bytes a report
in the reports table (measured {n["bytes_per_report"]:,.0f} with the province's mix of
{r["pasc"]:,} PASC machines among {r["hosts"]:,} hosts, corrected for the nation's mix with
the measured JSON of each kind: PASC {r["json_bytes"]["pasc"]:,.0f} bytes, office PC
{r["json_bytes"]["office"]:,.0f}).

| | nation, one report a minute |
|---|---|
{table}

The plateau holds {held:.0f} working days of reports (those within the {r["reports_days"]}
days kept); a province of average size, a 34th: {_gb(n["bytes_per_working_day"] / 34)} a
working day, {_gb(n["plateau_bytes"] / 34)} at the plateau. These are SQLite's bytes;
PostgreSQL compresses large JSON values (TOAST) and was not measured here."""


def retention_section(r: dict[str, Any]) -> str:
    """The retention benchmark's section (bench/retention.py)."""
    days = r["days"]
    working = sum(1 for d in days if d["working"])
    per_host = days[0]["reports_stored"] / max(r["hosts"], 1)
    return f"""{HEADINGS["retention"]}

{r.get("stamp") or stamp()}

One province (code {r["province"]}: {r["hosts"]:,} hosts, the simulator's plan for its
communes: {r["pasc"]:,} PASC machines with the full check set and their planned faults,
and office PCs), on {r["engine"]}, lived {len(days)} simulated days from {r["start"]}
({working} working days: weekends and the National Day holidays are off, as the working
calendar says) in {r["month_s"]:.0f} s, time-compressed (no sleeping: the services' clock,
the demo's `DemoClock`, is set to one simulated instant after another). Hosts report
only in working time, through the collector's own ingest use case (`ingest_many`, groups
of 250) with `observed_at` set to the instant: one report every {r["step_min"]:.0f}
simulated minutes, the first as the office opens ({per_host:.0f} a host each working day),
instead of one a minute; sizes are scaled to one a minute below. Every simulated night at
00:30 the collector's background pass runs (`Rollups.periodic`: the day's roll-up, then
pruning, bounded batches), raw reports kept {r["reports_days"]} days; then the database is
measured (the SQLite file after a WAL checkpoint; the roll-ups' tables with `dbstat`).
PostgreSQL is not in this run, to keep the section within about three minutes; its test
(`tests/bench/test_retention_bench.py`) runs on both engines.

{DAY_HEADER}
{_retention_rows(r)}

{_plateau(r)}

{_rates(r)}

{_prune_cost(r)}

{_nation_part(r)}
"""
