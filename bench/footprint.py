"""Agent footprint: resident memory and CPU per check cycle of the real ``ioc-agent run``,
beside Debian's ``prometheus-node-exporter`` scraped at the same interval, in the same run,
and Debian's Zabbix agent 2 asked for a host's figures (passive checks) at that interval.

The agent is enrolled against a real collector started here and runs a commune's default
configuration with its targets on loopback: what needs the internet (the national portal,
the name ``dichvucong.gov.vn``) points at the collector and at ``localhost`` instead; the
hourly throughput test runs in the first cycle, as after any restart. The agent runs from a
virtual environment with the agent's dependencies only (this tree installed without extras),
as on a commune PC: the development environment holds more (``trio``, for selenium's browser
tests, which httpcore imports whenever it is installed). Each cycle ends with
the daemon's ``report seq ...`` log line, at which the process is sampled (psutil: user +
system CPU seconds, RSS), so CPU per cycle is the difference between consecutive lines:
time spent waiting on the network is not CPU time and is not counted.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml

from bench.common import (
    BIN,
    ROOT,
    Sample,
    collector_process,
    free_port,
    median,
    peak_rss_mib,
    per_step_cpu_ms,
    progress,
    sample,
    start_node_exporter,
    stop,
    write_collector_config,
)
from bench.imports import measure as imports_measure
from bench.zabbix import agent2_beside
from collector.assembly import open_services
from collector.config import load_config

COMMUNE = "00070"  # Phường Hoàn Kiếm, Hà Nội


def agent_environment(venv: Path) -> Path:
    """A fresh virtual environment with this tree installed as a commune PC gets it (core
    dependencies, no ``[collector]``, no development tools); returns its ``bin`` folder."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if pip.returncode != 0:
        raise RuntimeError(
            "footprint: cannot install the agent in its own environment (pip needs the "
            f"package index): {pip.stderr.strip().splitlines()[-1:]}"
        )
    return venv / "bin"


def agent_config(
    path: Path, url: str, state_dir: Path, reflector_port: int, **options: Any
) -> Path:
    """A commune's default agent configuration with its internet targets on loopback."""
    data: dict[str, Any] = {
        "collector": {"url": url},
        "state_dir": str(state_dir),
        "host": "bench-pasc-1",
        "checks": {
            "net.dns": {"names": ["localhost"]},
            "net.portal": {"targets": [f"{url}/healthz"]},
            "vc.quality": {"port": reflector_port},
        },
        **options,
    }
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def enrollment_code(collector_cfg: Path, commune: str = COMMUNE) -> str:
    services = open_services(load_config(collector_cfg), migrate=True)  # made for the benchmark
    try:
        [(_, code)] = services.identities.create_enrollment_codes([commune])
    finally:
        services.engine.dispose()
    return code


def enroll_agent(config: Path, code: str, bin_dir: Path = BIN) -> None:
    """``ioc-agent enroll``, as the commune's IT staff would run it."""
    subprocess.run(
        [str(bin_dir / "ioc-agent"), "enroll", "--code", code, "--config", str(config)],
        check=True,
        capture_output=True,
        timeout=60,
    )


class AgentWatch:
    """``ioc-agent run`` as a child process, sampled at the end of every cycle."""

    def __init__(self, config: Path, bin_dir: Path = BIN) -> None:
        self.proc = subprocess.Popen(
            [str(bin_dir / "ioc-agent"), "run", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.ps = psutil.Process(self.proc.pid)
        self.cycles: list[Sample] = []
        self.results: list[int] = []
        self.sent = 0
        self.errors: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if "report seq" in line:
                try:
                    self.cycles.append(sample(self.ps))
                except psutil.NoSuchProcess:
                    return
                # "report seq N: R results; sent S in B batch(es)[; error]"
                tail = line.split("report seq", 1)[1]
                self.results.append(int(tail.split(":")[1].split()[0]))
                self.sent += int(tail.split("sent ")[1].split()[0]) if "sent " in tail else 0
            elif " ERROR " in line or "Traceback" in line:
                self.errors.append(line.strip())

    def stop(self) -> None:
        stop(self.proc)
        self._reader.join(timeout=10)


@dataclass
class SideBySide:
    """The agent and node_exporter, sampled together: the agent's cycles, node_exporter's
    scrapes, and each one's memory measured before it stopped."""

    agent: AgentWatch
    scrapes: list[Sample]
    ne_bytes: int
    agent_peak: float
    agent_uss: float
    ne_peak: float
    ne_uss: float


def _scrape_beside(
    agent: AgentWatch, ne_ps: psutil.Process, ne_url: str, cycles: int, interval_s: float
) -> tuple[list[Sample], int]:
    """Scrape node_exporter once an interval until both have ``cycles + 1`` samples; returns
    the scrapes and the size of the last one."""
    scrapes: list[Sample] = []
    ne_bytes = 0
    deadline = time.monotonic() + (cycles + 2) * interval_s + 60
    next_scrape = time.monotonic()
    while len(agent.cycles) < cycles + 1 or len(scrapes) < cycles + 1:
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"footprint: {len(agent.cycles)} agent cycles and {len(scrapes)} "
                f"scrapes before the deadline; agent errors: {agent.errors[-3:]}"
            )
        if agent.proc.poll() is not None:
            raise RuntimeError(f"ioc-agent run exited: {agent.errors[-3:]}")
        if len(scrapes) < cycles + 1 and time.monotonic() >= next_scrape:
            ne_bytes = len(httpx.get(ne_url, timeout=30).content)
            scrapes.append(sample(ne_ps))
            next_scrape += interval_s
            progress(
                f"footprint: {len(agent.cycles)} agent cycles, {len(scrapes)} node_exporter scrapes"
            )
        time.sleep(0.05)
    return scrapes, ne_bytes


def run_side_by_side(
    agent_cfg: Path, agent_bin: Path, cycles: int, interval_s: float
) -> SideBySide:
    """Run the enrolled agent and node_exporter together for ``cycles`` cycles, then stop
    both."""
    ne, ne_url = start_node_exporter()
    agent = AgentWatch(agent_cfg, agent_bin)
    try:
        ne_ps = psutil.Process(ne.pid)
        scrapes, ne_bytes = _scrape_beside(agent, ne_ps, ne_url, cycles, interval_s)
        return SideBySide(
            agent=agent,
            scrapes=scrapes,
            ne_bytes=ne_bytes,
            agent_peak=peak_rss_mib(agent.proc.pid),
            agent_uss=agent.ps.memory_full_info().uss / 2**20,
            ne_peak=peak_rss_mib(ne.pid),
            ne_uss=ne_ps.memory_full_info().uss / 2**20,
        )
    finally:
        agent.stop()
        stop(ne)


def agent_environment_figures(agent_bin: Path) -> tuple[float, str, dict[str, Any]]:
    """Peak RSS (MiB) of importing the agent in its own environment, the versions of its
    main dependencies there, and what each import of the run path adds (bench/imports.py)."""
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec (it would be the bench's own).
    imports = subprocess.run(
        [
            str(agent_bin / "python"),
            "-c",
            "import agent.cli, agent.daemon\n"
            "print(next(x.split()[1] for x in open('/proc/self/status') if x[:6] == 'VmHWM:'))",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    import_rss = int(imports.stdout) / 1024
    env_versions = subprocess.run(
        [
            str(agent_bin / "python"),
            "-c",
            "from importlib.metadata import version\n"
            "names = ('msgspec', 'pydantic', 'psutil', 'click')\n"
            "print(', '.join(f'{p} {version(p)}' for p in names))",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    return import_rss, env_versions, imports_measure(str(agent_bin / "python"))


def footprint_figures(
    run: SideBySide,
    import_rss: float,
    env_versions: str,
    interval_s: float,
    imports: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The figures of the footprint section, from the samples of both sides."""
    agent, scrapes = run.agent, run.scrapes
    # The first cycle (start-up, imports, the hourly throughput test) is reported apart.
    steady = agent.cycles[1:]
    cpu = per_step_cpu_ms(agent.cycles)
    ne_cpu = per_step_cpu_ms(scrapes)
    agent_rss = median([s.rss_mib for s in steady])
    ne_rss = median([s.rss_mib for s in scrapes[1:]])
    agent_cpu = (steady[-1].cpu_s - steady[0].cpu_s) * 1000 / (len(steady) - 1)
    ne_cpu_mean = (scrapes[-1].cpu_s - scrapes[0].cpu_s) * 1000 / (len(scrapes) - 1)
    return {
        "agent_environment": env_versions,
        "cycles": len(cpu),
        "interval_s": interval_s,
        "results_per_report": agent.results[-1],
        "ne_scrape_bytes": run.ne_bytes,
        "agent_rss_mib": round(agent_rss, 1),
        "agent_peak_rss_mib": round(run.agent_peak, 1),
        "agent_uss_mib": round(run.agent_uss, 1),
        "agent_import_rss_mib": round(import_rss, 1),
        "import_ratio": round(import_rss / ne_rss, 1),
        "agent_rss_growth_mib": round(steady[-1].rss_mib - steady[0].rss_mib, 1),
        "agent_first_cycle_cpu_s": round(agent.cycles[0].cpu_s, 2),
        "agent_cpu_ms_per_cycle": round(agent_cpu, 1),
        "agent_cpu_ms_max_cycle": round(max(cpu), 1),
        "ne_rss_mib": round(ne_rss, 1),
        "ne_peak_rss_mib": round(run.ne_peak, 1),
        "ne_uss_mib": round(run.ne_uss, 1),
        "ne_cpu_ms_per_scrape": round(ne_cpu_mean, 1),
        "ne_cpu_ms_max_scrape": round(max(ne_cpu), 1),
        "rss_ratio": round(agent_rss / ne_rss, 2),
        "peak_rss_ratio": round(run.agent_peak / run.ne_peak, 2),
        "cpu_ratio": round(agent_cpu / ne_cpu_mean, 2) if ne_cpu_mean else None,
        "imports": imports,
    }


def bench_footprint(work: Path, cycles: int = 12, interval_s: float = 5.0) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    progress("footprint: installing the agent in an environment of its own")
    agent_bin = agent_environment(work / "agent-venv")
    reflector = free_port()
    cfg = write_collector_config(
        work / "collector.yaml", str(work / "collector.db"), reflector_port=reflector
    )
    code = enrollment_code(cfg)
    with collector_process(cfg) as (url, _collector):
        agent_cfg = agent_config(
            work / "agent.yaml", url, work / "agent", reflector, interval_s=interval_s
        )
        enroll_agent(agent_cfg, code, agent_bin)
        # Zabbix agent 2 beside them, asked for its host's figures once an interval.
        with agent2_beside(work / "zabbix-agent2", interval_s) as agent2:
            run = run_side_by_side(agent_cfg, agent_bin, cycles, interval_s)
            agent2_figures = agent2.figures()
    import_rss, env_versions, imports = agent_environment_figures(agent_bin)
    if run.agent.sent < cycles:
        raise RuntimeError(f"footprint: the agent sent {run.agent.sent} reports in {cycles} cycles")
    figures = footprint_figures(run, import_rss, env_versions, interval_s, imports)
    return {**figures, **agent2_figures}
