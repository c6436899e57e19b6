"""``ioc-collector serve --reuse-port``: several collector processes on one machine share a
port (one per core, the kernel spreads the connections); a process that does not share it is
refused with a clear message, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import psutil

from bench.common import free_port, listens, stop, wait_http, wait_listening

# --migrate: each test's database is new (the first process creates the schema, the next
# finds it current).
SERVE = [
    str(Path(sys.executable).parent / "ioc-collector"),
    "serve",
    "--log-level",
    "warning",
    "--migrate",
]


def test_two_processes_share_one_port_and_a_third_without_the_flag_is_refused(
    tmp_path: Path,
) -> None:
    port = free_port()
    args = [*SERVE, "--db", str(tmp_path / "c.db"), "--listen", f"127.0.0.1:{port}"]
    procs = []
    try:
        for _ in range(2):
            procs.append(subprocess.Popen([*args, "--reuse-port"], stderr=subprocess.PIPE))
            wait_http(f"http://127.0.0.1:{port}/healthz", proc=procs[-1])
            # The first one answered that; this one listens once its app has started.
            wait_listening(procs[-1], port)
        # 32 connections kept open, each answered: the kernel gives both processes some
        # (all 32 to one of two would be a 1 in 2^31 draw).
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}") for _ in range(32)]
        try:
            assert all(c.get("/healthz").status_code == 200 for c in clients)
            serving = {
                c.pid
                for c in psutil.net_connections("tcp")
                if c.laddr and c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED
            }
        finally:
            for c in clients:
                c.close()
        assert serving == {p.pid for p in procs}

        third = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert third.returncode != 0
        assert f"127.0.0.1:{port} is already in use" in third.stderr
        assert "Traceback" not in third.stderr
    finally:
        for p in procs:
            stop(p)


def test_a_process_still_starting_takes_no_connection(tmp_path: Path) -> None:
    """A second process binds the shared port before it builds its app, but listens only
    once the app has started: until then every new connection goes to the first. Held
    between the two (SIGSTOP, as if its start-up took long), it must not take connections
    it cannot answer."""
    port = free_port()
    args = [*SERVE, "--db", str(tmp_path / "c.db"), "--listen", f"127.0.0.1:{port}", "--reuse-port"]
    first = subprocess.Popen(args, stderr=subprocess.PIPE)
    procs = [first]
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc=first)
        wait_listening(first, port)
        for _attempt in range(5):
            second = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
            procs.append(second)
            ps = psutil.Process(second.pid)
            assert second.stderr is not None
            # Said once the port is bound and the app built, before uvicorn starts it.
            for line in second.stderr:
                if line.startswith("collector listening on"):
                    break
            else:
                raise AssertionError(f"the second process exited ({second.wait()})")
            ps.suspend()
            if not listens(ps, port):
                break
            # It started listening between its line and the stop (its app started faster
            # than this test looked): try again with a new process.
            ps.resume()
            stop(second)
        else:
            raise AssertionError("five processes were listening as soon as they had bound")
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) for _ in range(32)]
        try:
            assert all(c.get("/healthz").status_code == 200 for c in clients)
            assert not listens(ps, port)  # still held, and bound only
        finally:
            for c in clients:
                c.close()
        ps.resume()
        wait_listening(second, port)  # once its app has started, it listens
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    finally:
        for p in procs:
            if p.poll() is None:
                psutil.Process(p.pid).resume()
            stop(p)
