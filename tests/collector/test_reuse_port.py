"""``ioc-collector serve --reuse-port``: several collector processes on one machine share a
port (one per core, the kernel spreads the connections); a process that does not share it is
refused with a clear message, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import psutil

from bench.common import free_port, stop, wait_http, wait_listening

SERVE = [str(Path(sys.executable).parent / "ioc-collector"), "serve", "--log-level", "warning"]


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
                c.pid for c in psutil.net_connections("tcp")
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
