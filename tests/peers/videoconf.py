"""Real SIP and STUN peers for integration tests: Debian's kamailio and coturn, each started
on a free loopback port with its own minimal configuration and runtime directory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

# Answer OPTIONS with 200 (sl = stateless replies); anything else gets a 404.
KAMAILIO_CFG = """#!KAMAILIO
debug=1
log_stderror=yes
children=1
tcp_children=1
listen=udp:127.0.0.1:{port}
listen=tcp:127.0.0.1:{port}
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/:/usr/lib/kamailio/modules/"
loadmodule "sl.so"
request_route {{
    if (method=="OPTIONS") {{ sl_send_reply("200", "OK"); exit; }}
    sl_send_reply("404", "Not here");
}}
"""


def free_udp_tcp_port() -> int:
    """A loopback port free for both UDP and TCP (kamailio listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return int(port)
    raise RuntimeError("no free port")


def _wait_ready(
    probe, proc: subprocess.Popen[bytes], log: Path, what: str, timeout_s: float = 10.0
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}: {log.read_text()[-2000:]}")
        if probe():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer within {timeout_s} s: {log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # Our own process group only (start_new_session=True): kamailio forks its workers.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@contextlib.contextmanager
def kamailio(binary: str, workdir: Path) -> Iterator[int]:
    from checks.videoconf.sip import probe_sip

    port = free_udp_tcp_port()
    cfg = workdir / "kamailio.cfg"
    cfg.write_text(KAMAILIO_CFG.format(port=port), encoding="utf-8")
    rundir = workdir / "run"
    rundir.mkdir(exist_ok=True)
    log = workdir / "kamailio.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                binary,
                "-f",
                str(cfg),
                "-DD",
                "-E",
                "-Y",
                str(rundir),
                "-n",
                "1",
                "-w",
                str(workdir),
                "-P",
                str(rundir / "kamailio.pid"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def answers() -> bool:
            outcome = asyncio.run(probe_sip("127.0.0.1", port, "udp", 0.3))
            return outcome.response is not None

        _wait_ready(answers, proc, log, "kamailio")
        yield port
    finally:
        _stop(proc)


@contextlib.contextmanager
def coturn(binary: str, workdir: Path) -> Iterator[int]:
    from checks.videoconf.stun import probe_stun

    port = free_udp_tcp_port()
    log = workdir / "turnserver.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                binary,
                "-n",
                "--stun-only",
                "--no-cli",
                "--no-tls",
                "--no-dtls",
                "-L",
                "127.0.0.1",
                "-p",
                str(port),
                "--log-file",
                "stdout",
                "--pidfile",
                str(workdir / "turnserver.pid"),
                "--no-software-attribute",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def answers() -> bool:
            return asyncio.run(probe_stun("127.0.0.1", port, 0.3)).response is not None

        _wait_ready(answers, proc, log, "turnserver")
        yield port
    finally:
        _stop(proc)
