"""The print, UPS and scanner services of a commune PC, from Debian, for the USB checks.

* :class:`Cupsd` — a private cupsd (Debian ``cups-daemon``) on a free 127.0.0.1 port and a
  local socket of its own, its configuration, queues, spool and logs in a directory under
  /tmp; its queues print to a backend of the tests' own, which reports state reasons and
  marker levels to cupsd exactly as a USB printer's backend does;
* :class:`Nut` — the ``dummy-ups`` driver (Debian ``nut-server``) on a ``.dev`` file the test
  rewrites between states, and ``upsd`` on a free 127.0.0.1 port, both with their own
  configuration and state directories;
* :func:`sane_config` — a SANE configuration directory enabling only the ``test`` backend
  (Debian ``sane-utils``), for ``SANE_CONFIG_DIR``.

docs/PEERS.md gives the recipes and their traps.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.peers.prometheus import stop_process

CUPSD = "/usr/sbin/cupsd"
NUT_DRIVERS = Path("/lib/nut")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str, log: Path) -> Any:
    """Poll ``predicate`` (bounded), then fail naming ``what`` with the peer's log."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    shown = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}; log:\n{shown}")


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _workdir(prefix: str, owner: str | None = None) -> Path:
    """A directory under /tmp (pytest's are closed to other users), open to ``owner``."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    if owner and os.geteuid() == 0:
        shutil.chown(path, owner, owner)
    return path


# --------------------------------------------------------------------------- CUPS

CUPSD_CONF = """\
Listen 127.0.0.1:{port}
Listen {dir}/run/cups.sock
LogLevel warn
Browsing Off
WebInterface No
<Location />
  Order allow,deny
  Allow all
</Location>
<Location /admin>
  AuthType None
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    AuthType None
    Order deny,allow
  </Limit>
</Policy>
"""
CUPS_FILES_CONF = """\
ServerRoot {dir}/etc
RequestRoot {dir}/spool
CacheDir {dir}/cache
StateDir {dir}/run
TempDir {dir}/spool/tmp
ErrorLog {dir}/log/error_log
AccessLog {dir}/log/access_log
PageLog {dir}/log/page_log
User lp
Group lp
FileDevice Yes
"""


#: A CUPS backend of the tests' own: it tells cupsd what the file named by its device URI
#: (``ioctest:/NAME``) says, the way a USB printer's backend reports what the printer told it
#: (``ATTR: marker-levels=7``, ``STATE: +toner-low-warning``), then swallows the job; while a
#: file ``NAME.hold`` exists (30 s at most) it keeps the job, as a backend waiting for an
#: unplugged printer does. Run without arguments it names itself, as ``lpinfo -v`` asks.
TEST_BACKEND = """#!/bin/sh
if [ $# -eq 0 ]; then echo 'direct ioctest "Unknown" "commune-ioc test backend"'; exit 0; fi
name="{reports}/${{DEVICE_URI#ioctest:/}}"
cat "$name" >&2
n=0
while [ -e "$name.hold" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
cat > /dev/null
exit 0
"""


def _server_bin(directory: Path, reports: Path) -> Path:
    """A copy of Debian's ServerBin (links) with the test backend added."""
    server_bin = directory / "serverbin"
    (server_bin / "backend").mkdir(parents=True)
    system = Path("/usr/lib/cups")
    for entry in system.iterdir():
        if entry.name != "backend":
            (server_bin / entry.name).symlink_to(entry)
    for entry in (system / "backend").iterdir():
        (server_bin / "backend" / entry.name).symlink_to(entry)
    backend = server_bin / "backend" / "ioctest"
    backend.write_text(TEST_BACKEND.format(reports=reports))
    backend.chmod(0o755)  # not 0700: cupsd runs it as lp, as it runs a USB backend
    return server_bin


class Cupsd:
    """A private cupsd: ``url`` (IPP over TCP on 127.0.0.1) for the check, ``socket`` for
    the CUPS administration commands (``lpadmin -h``, ``cupsdisable -h``)."""

    def __init__(self) -> None:
        self.dir = _workdir("ioc-cupsd-", owner="lp")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.socket = self.dir / "run" / "cups.sock"
        for sub in ("etc", "spool", "spool/tmp", "cache", "run", "log", "reports"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(self.dir / sub, "root" if sub in ("etc", "reports") else "lp", "lp")
        self.reports = self.dir / "reports"
        server_bin = _server_bin(self.dir, self.reports)
        (self.dir / "etc" / "cupsd.conf").write_text(
            CUPSD_CONF.format(port=self.port, dir=self.dir)
        )
        (self.dir / "etc" / "cups-files.conf").write_text(
            CUPS_FILES_CONF.format(dir=self.dir) + f"ServerBin {server_bin}\n"
        )
        self.log = self.dir / "cupsd.out"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    CUPSD,
                    "-f",
                    "-c",
                    str(self.dir / "etc" / "cupsd.conf"),
                    "-s",
                    str(self.dir / "etc" / "cups-files.conf"),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for(lambda: self._up(), 20, "cupsd to listen", self.dir / "log" / "error_log")
        except BaseException:
            self.stop()
            raise

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(
                f"cupsd exited ({self.process.returncode}): {self.log.read_text()[-2000:]}"
                f"{self.error_log()}"
            )
        return _answers(self.port) and self.socket.exists()

    def error_log(self) -> str:
        path = self.dir / "log" / "error_log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def admin(self, command: str, *args: str) -> str:
        """A CUPS administration command through the private socket (bounded)."""
        done = subprocess.run(
            [command, "-h", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        if done.returncode:
            raise AssertionError(
                f"{command} {' '.join(args)}: {done.stderr or done.stdout}\n{self.error_log()}"
            )
        return done.stdout

    def add_queue(self, name: str, report: str = "") -> None:
        """A raw queue on the test backend, which reports ``report`` (backend lines such as
        ``STATE: +media-empty-error``) each time it prints."""
        path = self.reports / name
        path.write_text(report)
        path.chmod(0o644)
        self.admin("lpadmin", "-p", name, "-v", f"ioctest:/{name}", "-E")

    def hold(self, queue: str, held: bool = True) -> None:
        """Make the backend keep ``queue``'s next job (30 s at most), or let it go."""
        path = self.reports / f"{queue}.hold"
        if held:
            path.touch()
        else:
            path.unlink(missing_ok=True)

    def print_job(self, queue: str, wait: bool = True) -> None:
        """Print one small raw job on ``queue``; with ``wait``, until the backend is done."""
        job = self.dir / "job.txt"
        job.write_text("commune-ioc\n")
        self.admin("lp", "-d", queue, "-o", "raw", str(job))
        if wait:
            self.wait_idle(queue)

    def wait_idle(self, queue: str) -> None:
        wait_for(
            lambda: not self.admin("lpstat", "-o", queue).strip(),
            40,
            f"the jobs on {queue} to finish",
            self.dir / "log" / "error_log",
        )

    def stop(self) -> None:
        stop_process(self.process, grace_s=10)
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------- NUT


def dev_file(status: str, charge: float, runtime_s: int, voltage: float = 230.0) -> str:
    """A ``dummy-ups`` state: the variables upsd will serve."""
    return (
        "ups.mfr: IOC test\n"
        "ups.model: Dummy USB UPS\n"
        f"ups.status: {status}\n"
        f"battery.charge: {charge:g}\n"
        f"battery.runtime: {runtime_s}\n"
        f"input.voltage: {voltage:g}\n"
    )


class Nut:
    """``dummy-ups`` serving ``{name}.dev`` and ``upsd`` on ``127.0.0.1:port``. Change the
    UPS's state with :meth:`set_state`, which waits until upsd serves it."""

    def __init__(self, name: str = "ups1", state: str = "") -> None:
        self.name = name
        self.dir = _workdir("ioc-nut-")
        self.port = free_port()
        self.state_dir = self.dir / "state"
        self.state_dir.mkdir(mode=0o770)
        self.dev = self.dir / f"{name}.dev"
        self.dev.write_text(state or dev_file("OL", 100, 3600))
        self._stamp = time.time()  # the .dev file's modification time, as set_state moves it
        (self.dir / "ups.conf").write_text(
            f'[{name}]\n  driver = dummy-ups\n  port = {self.dev}\n  desc = "test UPS"\n'
        )
        (self.dir / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {self.port}\n")
        (self.dir / "upsd.users").write_text("")
        (self.dir / "upsd.users").chmod(0o600)
        env = {**os.environ, "NUT_CONFPATH": str(self.dir), "NUT_STATEPATH": str(self.state_dir)}
        self.log = self.dir / "nut.log"
        self._out = self.log.open("wb")
        # -F keeps each program in the foreground.
        self.driver = subprocess.Popen(
            [str(NUT_DRIVERS / "dummy-ups"), "-a", name, "-u", "root", "-F"],
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )
        self.upsd: subprocess.Popen[bytes] | None = None
        try:
            wait_for(self._driver_socket, 20, "the dummy-ups driver's socket", self.log)
            self.upsd = subprocess.Popen(
                [str(NUT_DRIVERS / "upsd"), "-u", "root", "-F"],
                env=env,
                stdout=self._out,
                stderr=subprocess.STDOUT,
            )
            wait_for(lambda: self.status(), 20, "upsd to serve the UPS", self.log)
        except BaseException:
            self.stop()
            raise

    def _driver_socket(self) -> bool:
        if self.driver.poll() is not None:
            raise AssertionError(f"dummy-ups exited: {self.log.read_text()[-2000:]}")
        return any(self.state_dir.iterdir())

    def upsc(self) -> dict[str, str]:
        """What upsd serves, through Debian's own client (bounded)."""
        done = subprocess.run(
            ["upsc", f"{self.name}@127.0.0.1:{self.port}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        pairs = (line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
        return {k: v for k, v in pairs}

    def status(self) -> str:
        return self.upsc().get("ups.status", "")

    def set_state(self, text: str) -> None:
        """Rewrite the ``.dev`` file; the driver reads it again when its time changes."""
        wanted = next(
            line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("ups.status")
        )
        self.dev.write_text(text)
        # A later modification time in whole seconds each time (the driver compares
        # seconds), even for two states written within the same second.
        stamp = max(time.time() + 1, self._stamp + 2)
        self._stamp = stamp
        os.utime(self.dev, (stamp, stamp))
        wait_for(lambda: self.status() == wanted, 30, f"ups.status {wanted}", self.log)

    def stop(self) -> None:
        for proc in (self.upsd, self.driver):
            if proc is not None:
                stop_process(proc, grace_s=10)
        self._out.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------- SANE


def sane_config(directory: Path, backends: tuple[str, ...] = ("test",)) -> Path:
    """A SANE configuration directory whose ``dll.conf`` loads only ``backends``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "dll.conf").write_text("".join(f"{b}\n" for b in backends))
    return directory
