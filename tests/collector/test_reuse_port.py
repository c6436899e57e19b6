"""``ioc-collector serve --reuse-port``: several collector processes on one machine share a
port (one per core, the kernel spreads the connections); a process that does not share it is
refused with a clear message, not a traceback."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from bench.common import free_port, stop, wait_http

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
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the second one may still be starting
            assert all(p.poll() is None for p in procs)
            listening = {
                c.pid for c in psutil.net_connections("tcp")
                if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN
            }
            if {p.pid for p in procs} <= listening:
                break
            time.sleep(0.1)
        assert {p.pid for p in procs} <= listening
        for _ in range(20):  # fresh connections: whichever process takes one answers
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200

        third = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert third.returncode != 0
        assert f"127.0.0.1:{port} is already in use" in third.stderr
        assert "Traceback" not in third.stderr
    finally:
        for p in procs:
            stop(p)
