"""Real processes and fault injection for the reliability tests.

* :class:`CollectorProcess` — ``ioc-collector serve`` as a subprocess on a given database,
  so it can be killed with SIGKILL and restarted on the same data;
* :func:`agent_config` / :func:`run_agent` — the ``ioc-agent`` CLI with a configuration
  file, only fast local checks enabled (the tests are about delivery, not measuring);
* :class:`FaultProxy` — a loopback TCP proxy that passes traffic through, or holds a
  request before it reaches the collector, or holds the collector's answer after the
  collector has committed, so the agent can be killed at exactly that moment;
* :func:`fill` — a runaway log filling a disk to the last byte;
* :func:`record` — measured figures, printed and kept in ``artifacts/reliability-faults.json``
  for docs/RELIABILITY.md.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from checks.check_list import default_registry
from tests import paths

BIN = Path(sys.executable).parent
ARTIFACTS = paths.ARTIFACTS
#: Checks that only read this machine: fast, and never talk to the collector (host.clock
#: asks the collector for its time, which would add requests to the proxied connection).
LOCAL_CHECKS = frozenset({"host.cpu", "host.memory", "host.disk", "host.uptime"})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll ``predicate`` until it is truthy; bounded, then fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)


def record(test: str, backend: str | None = None, **figures: Any) -> None:
    """Print the figures of ``test`` and keep them, per database backend (the one under test
    unless ``backend`` says otherwise), in artifacts/. The file is locked while it is read and
    rewritten: tests run in parallel (make test's ``-n 2``)."""
    from tests.conftest import TEST_DATABASE

    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "reliability-faults.json"
    backend = backend or TEST_DATABASE
    with open(ARTIFACTS / "reliability-faults.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            data = {}
        data[f"{test}[{backend}]"] = figures
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", "utf-8")
    print(f"\n{test} [{backend}]: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


def fill(disk: Path, name: str = "runaway.log") -> int:
    """Append to ``disk/name`` until the disk is full, down to the last byte, as a runaway
    log would; returns the bytes written."""
    written = 0
    fd = os.open(disk / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for chunk in (1024 * 1024, 4096, 1):
            data = bytes(chunk)
            while True:
                try:
                    written += os.write(fd, data)
                except OSError:
                    break
    finally:
        os.close(fd)
    return written


# --------------------------------------------------------------------------- collector


class CollectorProcess:
    """``ioc-collector serve`` on ``db`` and a fixed loopback port (the same across
    restarts, as agents know one URL)."""

    def __init__(self, db: str, workdir: Path, **options: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.config = workdir / "collector.yaml"
        self.config.write_text(
            yaml.safe_dump(
                {
                    "db": db,
                    "listen": f"127.0.0.1:{self.port}",
                    "reflector_port": 0,
                    "reevaluate_every_s": 0,
                    **options,
                }
            ),
            "utf-8",
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def log(self) -> Path:
        return self.workdir / f"collector-{self.starts}.log"

    def start(self, timeout_s: float = 30.0) -> float:
        """Start and wait until ``/healthz`` answers; returns the seconds that took."""
        self.starts += 1
        began = time.monotonic()
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    str(BIN / "ioc-collector"),
                    "serve",
                    "--config",
                    str(self.config),
                    "--log-level",
                    "warning",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        def healthy() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"collector exited: {self.log.read_text('utf-8')}")
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout_s, "the collector to answer /healthz")
        return time.monotonic() - began

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, as in a power cut of the process."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        from tests.peers.prometheus import stop_process

        if self.proc is not None:
            stop_process(self.proc)


# ------------------------------------------------------------------------------- agent


def agent_settings(url: str, state_dir: Path, **overrides: Any) -> dict[str, Any]:
    """An agent configuration for delivery tests: only :data:`LOCAL_CHECKS` enabled, a fast
    backoff; ``overrides`` replace top-level keys (dicts are merged one level deep)."""
    config: dict[str, Any] = {
        "collector": {"url": url, "timeout_s": 20},
        "state_dir": str(state_dir),
        "host": "pasc-pc-1",
        "interval_s": 60,
        "spool": {"batch_size": 50, "batch_pause_s": 0},
        "sender": {"backoff_base_s": 0.05, "backoff_cap_s": 0.2},
        "checks": {
            c.id: {"enabled": False} for c in default_registry() if c.id not in LOCAL_CHECKS
        },
    }
    for key, value in overrides.items():
        if isinstance(value, dict):
            config[key] = {**config.get(key, {}), **value}
        else:
            config[key] = value
    return config


def agent_config(path: Path, url: str, state_dir: Path, **overrides: Any) -> Path:
    """Write :func:`agent_settings` to ``path``."""
    path.write_text(yaml.safe_dump(agent_settings(url, state_dir, **overrides)), "utf-8")
    return path


def agent_command(config: Path, *args: str) -> list[str]:
    return [str(BIN / "ioc-agent"), "run", "--config", str(config), *args]


def run_agent(config: Path, *args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        agent_command(config, *args),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


# ---------------------------------------------------------------------------- database


def stoppable_postgres() -> Any:
    """A private PostgreSQL (tests/peers/prometheus.py) that can be stopped and started
    again on the same data and port, as a database server restarted under a collector."""
    from tests.peers.prometheus import Postgres

    class StoppablePostgres(Postgres):
        def halt(self) -> None:
            self._as_postgres(
                [str(self.BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]
            )

        def resume(self) -> None:
            self._as_postgres(
                [
                    str(self.BIN / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=on",
                    "start",
                ]
            )

    return StoppablePostgres()


# ------------------------------------------------------------------------------- proxy


class FaultProxy:
    """A loopback TCP proxy to ``upstream_port``.

    ``mode`` applies to connections accepted from then on:

    * ``"pass"`` — relay both ways;
    * ``"hold_request"`` — read the client's bytes and forward nothing: the request never
      reaches the collector (``request_held`` is set once bytes arrived);
    * ``"hold_response"`` — forward the request, read the collector's answer and keep it:
      the collector has committed but the client never hears it (``response_held`` is set
      once the answer's headers arrived).
    """

    def __init__(self, upstream_port: int, mode: str = "pass") -> None:
        self.upstream_port = upstream_port
        self.mode = mode
        self.request_held = threading.Event()
        self.response_held = threading.Event()
        self.held_response = b""
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._closing = threading.Event()
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._sockets.append(client)
            threading.Thread(target=self._serve, args=(client, self.mode), daemon=True).start()

    def _serve(self, client: socket.socket, mode: str) -> None:
        if mode == "hold_request":
            self._drain(client, self.request_held)
            return
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
        self._sockets.append(upstream)
        threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
        if mode == "hold_response":
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = self._recv(upstream)
                if not chunk:
                    return
                buf += chunk
            self.held_response = buf
            self.response_held.set()
            self._drain(upstream, None)
        else:
            self._pump(upstream, client)

    def _recv(self, sock: socket.socket) -> bytes:
        try:
            return sock.recv(65536)
        except OSError:
            return b""

    def _drain(self, sock: socket.socket, seen: threading.Event | None) -> None:
        while not self._closing.is_set():
            chunk = self._recv(sock)
            if not chunk:
                return
            if seen is not None:
                seen.set()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        while True:
            chunk = self._recv(src)
            if not chunk:
                break
            try:
                dst.sendall(chunk)
            except OSError:
                break
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closing.set()
        self._listener.close()
        for s in self._sockets:
            with contextlib.suppress(OSError):
                s.close()
        self._thread.join(timeout=5)
