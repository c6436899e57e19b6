"""host.clock's synchronisation state on Linux: chrony, ntpd/ntpsec, timedatectl, the kernel.

The parsers run on outputs as the tools print them (chrony's ``-c`` CSV, ntpsec's ``rv``
status word, timedatectl's ``key=value``). The order and the deadline run
:func:`read_time_sync` against stand-in tools (shell scripts printing those outputs,
or never answering); the kernel fallback and the real timedatectl of this machine run as
they are, and a real chrony pair on loopback (Debian's ``chrony``) answers before and after
synchronising. The catalogue's verdict on ``ntp_synchronised`` is the built-in one (EQ-01).
"""

from __future__ import annotations

import asyncio
import stat
import subprocess
import time
from pathlib import Path

import pytest

from checks.backend import BackendError, TimeSync
from checks.backend.linux_time import (
    kernel_time_sync,
    parse_chrony_tracking,
    parse_ntpq_rv,
    parse_timedatectl,
    read_time_sync,
)
from checks.base import CheckContext
from checks.host.health import ClockCheck, ClockSection, evaluate_clock
from checks.model import Status
from tests.checks.checks_fixtures import json_body, judged
from tests.conftest import require_binary
from tests.peers.faults import free_port

# Recorded from Debian 12's chrony 4.3 (a client chronyd -x polling a server chronyd on
# loopback): before its first sample, then synchronised.
CHRONY_SYNCED = (
    "7F000001,127.0.0.1,9,1796487571.198313657,-0.000000947,0.000000011,0.000004030,0.040,"
    "0.015,0.368,0.000004685,0.000001705,0.3,Normal\n"
)
CHRONY_UNSYNCED = (
    "00000000,,0,0.000000000,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,"
    "1.000000000,1.000000000,0.0,Not synchronised\n"
)
NTPQ_SYNCED = """\
associd=0 status=0615 leap_none, sync_ntp, 1 event, clock_sync,
version="ntpd ntpsec-1.2.2 2023-01-11T17:14:25Z", processor="x86_64",
system="Linux/6.1.0-28-amd64", leap=00, stratum=3, precision=-24,
rootdelay=7.593, rootdisp=21.442, refid=203.162.4.190,
reftime=eb0c7a21.5c3d4e2f 2026-12-05T08:12:17.360Z,
clock=eb0c7b50.1b2c3d4e 2026-12-05T08:17:20.106Z, peer=34915, tc=10,
mintc=0, offset=-0.412345, frequency=-12.345, sys_jitter=0.123456,
clk_jitter=0.089, clk_wander=0.012
"""
NTPQ_UNSYNCED = """\
associd=0 status=c016 leap_alarm, sync_unspec, 1 event, restart,
version="ntpd ntpsec-1.2.2 2023-01-11T17:14:25Z", processor="x86_64",
leap=11, stratum=16, precision=-24, rootdelay=0.000, rootdisp=0.300, refid=INIT,
"""


def test_chrony():
    synced = parse_chrony_tracking(CHRONY_SYNCED)
    assert synced == TimeSync(True, "chrony (127.0.0.1)", "stratum 9, offset -0.000001 s")
    unsynced = parse_chrony_tracking(CHRONY_UNSYNCED)
    assert not unsynced.synchronised and unsynced.detail == "leap status: Not synchronised"
    with pytest.raises(ValueError, match="not chronyc"):
        parse_chrony_tracking("506 Cannot talk to daemon\n")


def test_ntpq():
    synced = parse_ntpq_rv(NTPQ_SYNCED)
    assert synced == TimeSync(True, "ntpd (203.162.4.190)", "stratum 3, offset -0.412345")
    unsynced = parse_ntpq_rv(NTPQ_UNSYNCED)
    assert unsynced == TimeSync(False, "ntpd", "leap_alarm, sync_unspec")
    with pytest.raises(ValueError):
        parse_ntpq_rv("ntpq: read: Connection refused\n")


def test_timedatectl():
    assert parse_timedatectl("NTP=yes\nNTPSynchronized=yes\n") == TimeSync(
        True, "systemd timedated", "time service on"
    )
    off = parse_timedatectl("NTP=no\nNTPSynchronized=no\n")
    assert off == TimeSync(False, "systemd timedated", "time service off")
    with pytest.raises(ValueError):
        parse_timedatectl("")


def _tool(tmp_path: Path, name: str, script: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_order_fallthrough_and_deadline(tmp_path):
    tools = {
        # chronyc installed but chronyd not running: chronyc says so and exits 1.
        "chronyc": _tool(tmp_path, "chronyc", "echo '506 Cannot talk to daemon' >&2; exit 1"),
        # ntpq that never answers: the deadline moves on.
        "ntpq": _tool(tmp_path, "ntpq", "exec sleep 30"),
        "timedatectl": _tool(tmp_path, "timedatectl", "printf 'NTP=yes\\nNTPSynchronized=no\\n'"),
    }
    began = time.monotonic()
    sync = read_time_sync(timeout_s=0.5, which=tools.get, kernel=None)
    assert time.monotonic() - began < 5
    assert sync == TimeSync(False, "systemd timedated", "time service on")

    ntpq = _tool(tmp_path, "ntpq2", f"cat <<'END'\n{NTPQ_SYNCED}END")
    sync = read_time_sync(which={**tools, "ntpq": ntpq}.get, kernel=None)
    assert sync.synchronised and sync.source == "ntpd (203.162.4.190)"

    with pytest.raises(BackendError) as err:
        read_time_sync(timeout_s=0.5, which={"ntpq": tools["ntpq"]}.get, kernel=None)
    assert str(err.value) == (
        "cannot tell whether the clock is synchronised: ntpq: no answer within 0.5 s"
    )
    with pytest.raises(BackendError, match="no time service tool installed"):
        read_time_sync(which=lambda _: None, kernel=None)


def test_kernel_flag_and_this_machine():
    """adjtimex read-only answers on any Linux (no privilege needed); timedatectl without
    systemd as PID 1, chronyc without chronyd, fail, and the kernel decides."""
    kernel = kernel_time_sync()
    assert kernel.source == "kernel (adjtimex)"
    sync = read_time_sync()
    no_service = not any(
        Path(p).exists()
        for p in ("/run/systemd/system", "/run/chrony/chronyd.pid", "/run/ntpd.pid")
    )
    if no_service:  # chronyc or ntpq may be installed: without their daemon they fail
        assert sync == kernel


@pytest.mark.parametrize(("synced", "status"), [(True, Status.OK), (False, Status.WARN)])
def test_the_catalogue_warns_on_an_unsynchronised_clock(synced, status):
    sync = TimeSync(synced, "chrony (ntp1.vnpt.vn)", "stratum 3")
    result = judged(evaluate_clock("c", ClockSection(0.1, 0.01, sync=sync)))
    assert result.status is status
    assert result.value("ntp_synchronised") == (1.0 if synced else 0.0)
    word = "synchronised" if synced else "not synchronised"
    assert f"; {word} by chrony (ntp1.vnpt.vn), stratum 3" in result.message
    # A large offset still fails: the worse of the two decides.
    assert judged(evaluate_clock("c", ClockSection(2.0, 0.01, sync=sync))).status is Status.FAIL


class _Backend:
    name = "fake"

    def __init__(self, answer: TimeSync | Exception) -> None:
        self.answer = answer

    def time_sync(self) -> TimeSync:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_clock_check_reports_the_state_or_why_not(http_server):
    from datetime import UTC, datetime

    now = lambda: json_body({"server_time": datetime.now(UTC).isoformat()})  # noqa: E731
    http_server.routes["/api/v1/time"] = (200, {"Content-Type": "application/json"}, now)
    ctx = CheckContext(host="h", collector_url=http_server.base)
    unsynced = TimeSync(False, "systemd timedated", "time service off")
    (result,) = asyncio.run(ClockCheck(backend=_Backend(unsynced)).run(ctx))
    assert result.value("ntp_synchronised") == 0.0
    assert judged(result).status is Status.WARN
    cannot = BackendError("cannot tell whether the clock is synchronised: adjtimex: denied")
    (result,) = asyncio.run(ClockCheck(backend=_Backend(cannot)).run(ctx))
    assert "ntp_synchronised" not in result.values
    assert judged(result).status is Status.OK  # judged on the offset alone
    assert result.message.endswith("; synchronisation unknown: " + str(cannot))


# ----------------------------------------------------------------------------- real chrony


def _chronyd(tmp_path: Path, name: str, lines: list[str]) -> subprocess.Popen[bytes]:
    """A chronyd on loopback that never touches the system clock (``-x``), in the
    foreground (``-d``), with its files (command socket included) under ``tmp_path``."""
    chronyd = require_binary("chronyd")
    conf = tmp_path / f"{name}.conf"
    conf.write_text(
        "\n".join(
            [
                *lines,
                f"pidfile {tmp_path / name}.pid",
                f"driftfile {tmp_path / name}.drift",
                "bindaddress 127.0.0.1",
                # Its own command socket: the default one (/run/chrony) is where this
                # machine's chronyc asks (test_kernel_flag_and_this_machine, in parallel).
                f"bindcmdaddress {tmp_path / name}.sock",
                "",
            ]
        )
    )
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen(
        [chronyd, "-x", "-d", "-u", "root", "-f", str(conf)], stdout=log, stderr=log
    )


@pytest.mark.timeout(60)
def test_real_chrony_before_and_after_synchronising(tmp_path):
    """Two real chronyd on loopback: a server (``local stratum 8``) and a client polling
    it every 0.25 s. ``chronyc -c tracking`` of the client says "Not synchronised" before
    its first samples, then synchronised to 127.0.0.1, and read_time_sync reads both."""
    chronyc = require_binary("chronyc")
    server_port, cmd_port = free_port(), free_port()
    server = _chronyd(
        tmp_path,
        "server",
        [f"port {server_port}", "cmdport 0", "local stratum 8", "allow 127.0.0.1"],
    )
    client = None
    try:
        client = _chronyd(
            tmp_path,
            "client",
            [
                f"server 127.0.0.1 port {server_port} iburst minpoll -2 maxpoll -2",
                "port 0",
                f"cmdport {cmd_port}",
                "bindcmdaddress 127.0.0.1",
            ],
        )
        wrapper = _tool(tmp_path, "chronyc", f'exec {chronyc} -h 127.0.0.1 -p {cmd_port} "$@"')
        seen: list[TimeSync] = []
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            try:
                sync = read_time_sync(which={"chronyc": wrapper}.get, kernel=None)
            except BackendError:  # chronyd not listening yet
                time.sleep(0.2)
                continue
            seen.append(sync)
            if sync.synchronised:
                break
            time.sleep(0.2)
        assert seen, "chronyd never answered chronyc"
        assert seen[-1].synchronised, seen[-1]
        assert seen[-1].source == "chrony (127.0.0.1)"
        assert seen[-1].detail.startswith("stratum 9, offset ")
        unsynced = [s for s in seen if not s.synchronised]
        if unsynced:  # the first answers, before the client's first samples
            assert unsynced[0].detail == "leap status: Not synchronised"
    finally:
        for proc in (client, server):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
