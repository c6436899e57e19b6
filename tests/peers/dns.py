"""A resolver that never answers, inside a network namespace of its own.

``silent_resolver()`` creates a namespace with only ``lo`` up, writes
``/etc/netns/<name>/resolv.conf`` (which ``ip netns exec`` bind-mounts over
``/etc/resolv.conf`` for the command it runs) pointing at 127.0.0.1, and starts a UDP socket
on 127.0.0.1:53 in that namespace that reads every query and answers none. The resolver
waits 30 s per try: a lookup there outlives any deadline a test sets. Commands are run in the
namespace with :meth:`SilentResolver.run`. Needs root and ``ip``: skipped without them, a
failure when IOC_REQUIRE_INTEGRATION=1.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_INTEGRATION, require_binary

#: The swallower reads queries for at most this long, then exits by itself.
SWALLOW_FOR_S = 120

SWALLOWER = f"""\
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
s.settimeout(1.0)
print("ready", flush=True)
end = time.monotonic() + {SWALLOW_FOR_S}
while time.monotonic() < end:
    try:
        s.recvfrom(4096)
    except TimeoutError:
        pass
"""

#: A name no resolver outside could answer either.
SILENT_NAME = "portal.ioc-silent.example"


@dataclass
class SilentResolver:
    netns: str
    ip: str

    def run(self, args: list[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
        """``args`` in the namespace, killed after ``timeout_s`` (a test bound, not a goal)."""
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        return subprocess.run(
            [self.ip, "netns", "exec", self.netns, *args],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=env,
            check=False,
        )

    def agent(self, *args: str, timeout_s: float = 30.0) -> subprocess.CompletedProcess[str]:
        """``ioc-agent ARGS`` in the namespace."""
        code = "from agent.cli import main; main()"
        return self.run([sys.executable, "-c", code, *args], timeout_s)


def _need_root() -> None:
    if os.geteuid() != 0:
        msg = "network namespaces need root"
        if REQUIRE_INTEGRATION:
            pytest.fail(msg)
        pytest.skip(msg)


@contextlib.contextmanager
def silent_resolver() -> Iterator[SilentResolver]:
    ip = require_binary("ip")
    _need_root()
    name = f"iocdns-{uuid.uuid4().hex[:8]}"
    conf_dir = Path("/etc/netns") / name
    conf_dir.mkdir(parents=True)
    (conf_dir / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:30 attempts:1\n")
    swallower: subprocess.Popen[str] | None = None
    try:
        subprocess.run([ip, "netns", "add", name], check=True, timeout=10)
        subprocess.run([ip, "-n", name, "link", "set", "lo", "up"], check=True, timeout=10)
        swallower = subprocess.Popen(
            [ip, "netns", "exec", name, sys.executable, "-c", SWALLOWER],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert swallower.stdout is not None
        assert swallower.stdout.readline().strip() == "ready"
        yield SilentResolver(name, ip)
    finally:
        if swallower is not None:
            swallower.kill()
            swallower.wait(timeout=10)
        subprocess.run([ip, "netns", "delete", name], check=False, timeout=10)
        shutil.rmtree(conf_dir, ignore_errors=True)
