"""What every benchmark needs: loopback ports, a real collector process, measuring a process
from the outside (psutil), progress lines, and the versions a result depends on.

Benchmarks measure the programs users run (``ioc-collector serve``, ``ioc-agent run``, the
Debian peers) as separate processes, so that one's CPU and memory are never mixed with the
load generator's.
"""

from __future__ import annotations

import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml

BIN = Path(sys.executable).parent
#: The source tree (docs/BENCHMARKS.md, and what the footprint benchmark installs).
ROOT = Path(__file__).resolve().parent.parent
_STARTED = time.monotonic()


def progress(message: str) -> None:
    """One line on stderr, with the seconds since the benchmark run started."""
    print(f"bench [{time.monotonic() - _STARTED:6.1f} s] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout_s: float = 30, proc: subprocess.Popen[Any] | None = None) -> None:
    """Poll ``url`` until it answers below 500; fail early when ``proc`` has exited."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"process {proc.pid} exited ({proc.returncode}) before {url} came up"
            )
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {timeout_s} s")


def listens(proc: psutil.Process, port: int) -> bool:
    """Whether ``proc`` itself listens on TCP ``port`` (bound only is not listening)."""
    return any(
        c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
        for c in proc.net_connections("tcp")
    )


def wait_listening(proc: subprocess.Popen[Any], port: int, timeout_s: float = 60) -> None:
    """Until ``proc`` itself listens on TCP ``port``; an error if it exits or never does."""
    deadline = time.monotonic() + timeout_s
    me = psutil.Process(proc.pid)
    while not listens(me, port):
        if proc.poll() is not None:
            raise RuntimeError(f"process {proc.pid} exited ({proc.returncode}) before listening")
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"process {proc.pid} not listening on port {port} after {timeout_s:g} s"
            )
        time.sleep(0.05)


def stop(proc: subprocess.Popen[Any], timeout_s: float = 30) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within ``timeout_s``."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout_s)


def write_collector_config(path: Path, db: str, **options: Any) -> Path:
    """A collector YAML file: ``db`` plus ``options`` (no periodic re-evaluation, no UDP
    reflector unless asked: benchmarks measure one thing at a time; /metrics open, on
    loopback, for the benchmarks that read the collector's own counters)."""
    data = {
        "db": db,
        "reflector_port": 0,
        "reevaluate_every_s": 0,
        "metrics_open": True,
        **options,
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@contextmanager
def collector_process(
    config: Path, port: int | None = None, stop_timeout_s: float = 30
) -> Iterator[tuple[str, psutil.Process]]:
    """``ioc-collector serve --config CONFIG`` on a loopback port; yields its URL and process.

    Its log goes to a file next to the configuration (read it when a benchmark fails). On
    exit it gets SIGTERM, and SIGKILL after ``stop_timeout_s`` (uvicorn waits for the
    requests in flight, which after a storm can be thousands)."""
    port = port or free_port()
    log = config.with_suffix(".log").open("a", encoding="utf-8")
    proc = subprocess.Popen(
        [
            str(BIN / "ioc-collector"),
            "serve",
            "--config",
            str(config),
            "--listen",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        stdout=log,
        stderr=log,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/healthz", proc=proc)
        # With --reuse-port another process may have answered: wait until this one listens
        # too (it does once its app has started), or the load would all go to the first.
        wait_listening(proc, port)
        yield url, psutil.Process(proc.pid)
    finally:
        stop(proc, stop_timeout_s)
        log.close()


@contextmanager
def postgres_server(wanted: bool = True) -> Iterator[Any]:
    """Debian's PostgreSQL 15 in a throwaway data directory (tests/peers/prometheus.py),
    stopped afterwards; None when not ``wanted`` or not installed (the runs are skipped)."""
    from tests.peers.prometheus import Postgres

    if not wanted or not (Postgres.BIN / "postgres").exists():
        yield None
        return
    server = Postgres()
    try:
        yield server
    finally:
        server.stop()


def peak_rss_mib(pid: int) -> float:
    """The kernel's high-water mark of the process's resident memory (Linux VmHWM)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


@dataclass(frozen=True)
class Sample:
    """One reading of a process: monotonic time, CPU seconds (user + system), RSS."""

    at: float
    cpu_s: float
    rss_mib: float


def sample(proc: psutil.Process) -> Sample:
    with proc.oneshot():
        cpu = proc.cpu_times()
        rss = proc.memory_info().rss
    return Sample(time.monotonic(), cpu.user + cpu.system, rss / 2**20)


def per_step_cpu_ms(samples: list[Sample]) -> list[float]:
    """CPU milliseconds between consecutive samples (one per cycle or scrape)."""
    return [(b.cpu_s - a.cpu_s) * 1000 for a, b in zip(samples, samples[1:], strict=False)]


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def percentile(xs: list[float], p: float) -> float:
    ys = sorted(xs)
    return ys[min(len(ys) - 1, int(p * len(ys)))] if ys else float("nan")


def deb_version(pkg: str) -> str:
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", pkg],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    return out.stdout or "?"


def versions() -> str:
    return (
        f"Python {platform.python_version()}, commune-ioc {version('commune-ioc')}, "
        f"SQLAlchemy {version('SQLAlchemy')}, uvicorn {version('uvicorn')}, "
        f"httpx {version('httpx')}, pydantic {version('pydantic')}; "
        f"prometheus-pushgateway {deb_version('prometheus-pushgateway')}, "
        f"prometheus-node-exporter {deb_version('prometheus-node-exporter')}"
    )


def machine() -> str:
    return f"{os.cpu_count()} cores, {platform.platform()}"


def start_node_exporter() -> tuple[subprocess.Popen[bytes], str]:
    """Debian's prometheus-node-exporter on a free loopback port (systemd collector off:
    not PID 1 here); returns the process and its /metrics URL once it answers."""
    port = free_port()
    proc = subprocess.Popen(
        [
            "prometheus-node-exporter",
            f"--web.listen-address=127.0.0.1:{port}",
            "--no-collector.systemd",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        wait_http(url, proc=proc)
    except BaseException:
        proc.kill()
        proc.wait(timeout=30)
        raise
    return proc, url
