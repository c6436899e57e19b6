"""Real SNMP peers on loopback for the equipment tests: snmpsim serving recorded walks of real
devices, Debian's snmpd with its own configuration, and a UDP socket that never answers.

Also :func:`read_snmprec`, which turns a ``.snmprec`` line into the row the SNMP client would
have returned, so that tests read the expected figures from the very dump the simulator
serves (no hand-copied numbers).
"""

from __future__ import annotations

import asyncio
import bz2
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import snmpsim_data

from checks.equipment.snmp_client import Row, SnmpError, SnmpTarget, SnmpValue, open_session
from tests import paths

DATA = Path(snmpsim_data.__file__).parent / "data"
FIXTURES = paths.FIXTURES / "snmp"

#: Recorded walks of real devices (snmpsim-data), by the name the tests use as community.
UPS_DUMPS = {
    "ups-eaton-93e-80": DATA / "UPS" / "eaton-93e-80.snmprec.bz2",
    "ups-phoenixtec": DATA / "UPS" / "phoenixtec-power.snmprec.bz2",
    "ups-huawei-gse200m": DATA / "UPS" / "huawei-gse200m.snmprec.bz2",
    "ups-ingrasys": DATA / "UPS" / "ingrasys-power-switch.snmprec.bz2",
}
SWITCH_DUMPS = {
    "switch-cisco-c3750": DATA / "network" / "switch" / "cisco-c3750.snmprec.bz2",
    "switch-dlink-des3200": DATA / "network" / "switch" / "dlink-des3200.snmprec.bz2",
    "switch-hpe-procurve": DATA / "network" / "switch" / "hpe-procurve-516733-b21.snmprec.bz2",
}
ROUTER_DUMPS = {
    "router-juniper-mx960": DATA / "network" / "router" / "juniper-mx960-12-3r6-6.snmprec.bz2",
    "router-juniper-mx960-b": DATA / "network" / "router" / "juniper-mx960-13-3r9-13.snmprec.bz2",
    "router-vyatta": DATA / "network" / "router" / "vyatta-unknown.snmprec.bz2",
}
PRINTER_DUMPS = {"printer-hp-m479": FIXTURES / "printer-hp-m479.snmprec"}
ALL_DUMPS = {**UPS_DUMPS, **SWITCH_DUMPS, **ROUTER_DUMPS, **PRINTER_DUMPS}

V3_USER = "ioc-test"
V3_AUTH_KEY = "auth-key-for-tests"
V3_PRIV_KEY = "priv-key-for-tests"

#: MIB subtrees the equipment checks read (system, interfaces, ip, bridge, host resources,
#: UPS-MIB, Printer-MIB, ifXTable, FC-MGMT-MIB; the UPS groups of PowerNet-MIB, XUPS-MIB and
#: the Liebert agent identity and power MIB).
SUBTREES = (
    *(f"1.3.6.1.2.1.{t}." for t in ("1", "2", "4.1", "17.1", "25", "31", "33", "43", "75")),
    *(f"1.3.6.1.4.1.{t}." for t in ("318.1.1.1", "534.1", "476.1.42.2.1", "476.1.42.3.5")),
)

#: snmprec type tags (snmpsim's grammar): integer types, strings, OIDs, addresses.
_INT_TAGS = {"2", "65", "66", "67", "70"}


def _value(tag: str, text: str) -> SnmpValue:
    if tag in _INT_TAGS:
        return int(text)
    if tag == "4":
        return text.encode("latin-1", errors="replace")
    if tag == "4x":
        return bytes.fromhex(text)
    if tag == "6":
        return text
    if tag == "64":
        return text
    if tag == "64x":
        return ".".join(str(b) for b in bytes.fromhex(text))
    return None


def read_snmprec(path: Path) -> list[Row]:
    """Every row of a ``.snmprec`` (``.bz2``) file as the SNMP client returns it."""
    opener = bz2.open if path.suffix == ".bz2" else open
    rows: list[Row] = []
    with opener(path, "rt", encoding="latin-1") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line or line.startswith("#"):
                continue
            oid, tag, text = line.split("|", 2)
            value = _value(tag, text)
            if value is not None:
                rows.append((oid, value))
    return rows


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _readable_tmpdir(prefix: str) -> Path:
    """A temp dir the unprivileged simulator can read (pytest's tmp dirs are 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


async def _answers(target: SnmpTarget) -> bool:
    """Whether the peer answers the target's community (a recording without sysUpTime
    answers noSuchObject: an answer all the same)."""
    try:
        async with open_session(target) as session:
            await session.get(["1.3.6.1.2.1.1.3.0"])
            return True
    except SnmpError:
        return False


def wait_until_answers(
    target: SnmpTarget, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"peer exited ({proc.returncode}): {log.read_text()[-2000:]}")
        if asyncio.run(_answers(target)):
            return
        time.sleep(0.2)
    raise TimeoutError(f"peer did not answer within {timeout_s} s: {log.read_text()[-2000:]}")


LAUNCHER = """\
# Imports the simulator needs after it dropped root: the interpreter's own tree may not be
# readable by "nobody" (a pyenv Python under /root).
import bz2, dbm.dumb, encodings.latin_1, encodings.ascii, encodings.utf_8, sys  # noqa
from snmpsim.commands.responder import main
sys.exit(main())
"""


class Snmpsim:
    """snmpsim-command-responder on 127.0.0.1:PORT serving the given dumps (community = key);
    SNMPv3 (SHA/AES128) too, the context name picking the dump."""

    def __init__(self, dumps: dict[str, Path]) -> None:
        self.dir = _readable_tmpdir("ioc-snmpsim-")
        data = self.dir / "data"
        data.mkdir()
        for name, src in dumps.items():
            # Only the subtrees the checks read, lines unchanged: snmpsim indexes a 600k-line
            # chassis dump for minutes otherwise.
            opener = bz2.open if src.name.endswith(".bz2") else open
            with (
                opener(src, "rt", encoding="latin-1") as f_in,
                (data / f"{name}.snmprec").open("w", encoding="latin-1") as f_out,
            ):
                f_out.writelines(line for line in f_in if line.startswith(SUBTREES))
        cache = self.dir / "cache"
        cache.mkdir()
        launcher = self.dir / "launcher.py"
        launcher.write_text(LAUNCHER)
        for p in [self.dir, data, cache, *data.iterdir(), launcher]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        self.port = free_udp_port()
        args = [
            sys.executable,
            str(launcher),
            f"--data-dir={data}",
            f"--cache-dir={cache}",
            f"--agent-udpv4-endpoint=127.0.0.1:{self.port}",
            f"--v3-user={V3_USER}",
            f"--v3-auth-key={V3_AUTH_KEY}",
            "--v3-auth-proto=SHA",
            f"--v3-priv-key={V3_PRIV_KEY}",
            "--v3-priv-proto=AES",
            "--logging-method=stderr",
            "--log-level=error",
        ]
        if os.geteuid() == 0:
            shutil.chown(cache, "nobody", "nogroup")
            args += ["--process-user=nobody", "--process-group=nogroup"]
        self.log = self.dir / "snmpsim.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        first = next(iter(dumps))
        try:
            wait_until_answers(self.target(first), self.proc, self.log)
        except BaseException:
            self.stop()
            raise

    def target(self, community: str, **kw: object) -> SnmpTarget:
        opts: dict[str, object] = {"timeout_s": 2.0, "retries": 1, **kw}
        return SnmpTarget(host="127.0.0.1", port=self.port, community=community, **opts)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.log_text = self.log.read_text(errors="replace") if self.log.exists() else ""
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


SNMPD_USER = "iocv3"
SNMPD_AUTH = "snmpd-auth-key-1"
SNMPD_PRIV = "snmpd-priv-key-1"
SNMPD_COMMUNITY = "ioc-ro-community"
SNMPD_NO_ACCESS_USER = "iocv3none"


class Snmpd:
    """Debian's snmpd in the foreground on 127.0.0.1:PORT with its own config and persistent
    dir (nothing under /var/lib is touched): v2c community and a SHA/AES authPriv user."""

    def __init__(self, binary: str) -> None:
        self.dir = _readable_tmpdir("ioc-snmpd-")
        self.port = free_udp_port()
        persist = self.dir / "persist"
        persist.mkdir()
        conf = self.dir / "snmpd.conf"
        conf.write_text(
            f"createUser {SNMPD_USER} SHA {SNMPD_AUTH} AES {SNMPD_PRIV}\n"
            f"rouser {SNMPD_USER} priv\n"
            f"createUser {SNMPD_USER}256 SHA-256 {SNMPD_AUTH} AES-256 {SNMPD_PRIV}\n"
            f"rouser {SNMPD_USER}256 priv\n"
            # A known user with no access entry: every request is an authorizationError.
            f"createUser {SNMPD_NO_ACCESS_USER} SHA {SNMPD_AUTH} AES {SNMPD_PRIV}\n"
            f"rocommunity {SNMPD_COMMUNITY} 127.0.0.1\n"
            "sysDescr commune-ioc test snmpd\n"
        )
        self.log = self.dir / "snmpd.log"
        # The persistent dir (engine boots, usmUser rows derived from createUser) is ours.
        env = {**os.environ, "SNMP_PERSISTENT_DIR": str(persist), "MIBS": ""}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    binary,
                    "-f",
                    "-Lo",
                    "-C",
                    "-c",
                    str(conf),
                    "-p",
                    str(self.dir / "snmpd.pid"),
                    f"udp:127.0.0.1:{self.port}",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        try:
            wait_until_answers(self.v2c(), self.proc, self.log)
        except BaseException:
            self.stop()
            raise

    def v2c(self, community: str = SNMPD_COMMUNITY, **kw: object) -> SnmpTarget:
        opts: dict[str, object] = {"timeout_s": 1.0, "retries": 1, **kw}
        return SnmpTarget(host="127.0.0.1", port=self.port, community=community, **opts)  # type: ignore[arg-type]

    def v3(
        self,
        auth_key: str = SNMPD_AUTH,
        priv_key: str = SNMPD_PRIV,
        user: str = SNMPD_USER,
        **kw: object,
    ) -> SnmpTarget:
        opts: dict[str, object] = {"timeout_s": 1.0, "retries": 1, **kw}
        return SnmpTarget(
            host="127.0.0.1",
            port=self.port,
            version="3",
            user=user,
            auth_key=auth_key,
            priv_key=priv_key,
            auth_proto="SHA",
            priv_proto="AES",
            **opts,
        )  # type: ignore[arg-type]

    def stop(self) -> None:
        self.log_text = self.log.read_text(errors="replace") if self.log.exists() else ""
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class SilentUdp:
    """A bound UDP socket that reads nothing and answers nothing: a device that is off."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])

    def close(self) -> None:
        self.sock.close()


class SlowProxy:
    """A UDP proxy on 127.0.0.1 in front of an SNMP peer: each answer is held ``delay_s``
    before it is passed on (a slow device), and after ``answers`` answers the rest are
    dropped (a device that falls silent mid-walk; None: never). One thread, bounded: it
    stops with :meth:`close`, at the latest after ``lifetime_s``."""

    def __init__(
        self,
        upstream_port: int,
        delay_s: float = 0.0,
        answers: int | None = None,
        lifetime_s: float = 120.0,
    ) -> None:
        self.delay_s = delay_s
        self.answers_left = answers
        self.forwarded = 0
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.port = int(self.front.getsockname()[1])
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.connect(("127.0.0.1", upstream_port))
        self._client: tuple[str, int] | None = None
        self._stop = threading.Event()
        self._end = time.monotonic() + lifetime_s
        self._thread = threading.Thread(target=self._run, name="slow-snmp-proxy", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pending: list[tuple[float, bytes]] = []  # (when to pass on, answer)
        while not self._stop.is_set() and time.monotonic() < self._end:
            wait = 0.05 if not pending else max(0.0, min(0.05, pending[0][0] - time.monotonic()))
            ready, _, _ = select.select([self.front, self.back], [], [], wait)
            if self.front in ready:
                data, self._client = self.front.recvfrom(65535)
                self.back.send(data)
            if self.back in ready:
                answer = self.back.recv(65535)
                if self.answers_left is None or self.answers_left > 0:
                    if self.answers_left is not None:
                        self.answers_left -= 1
                    pending.append((time.monotonic() + self.delay_s, answer))
            while pending and pending[0][0] <= time.monotonic() and self._client is not None:
                self.front.sendto(pending.pop(0)[1], self._client)
                self.forwarded += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.front.close()
        self.back.close()
