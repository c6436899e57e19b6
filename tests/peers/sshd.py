"""A real OpenSSH server (Debian openssh-server) on a free 127.0.0.1 port, for tests.

Own configuration, host key, authorized_keys and pid file in a temporary directory;
``-D -e`` keeps it in the foreground with logs on stderr. Key authentication only.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.peers.prometheus import stop_process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def keygen(path: Path, kind: str = "ed25519", passphrase: str = "") -> Path:
    """A fresh key pair at ``path`` / ``path.pub`` (ssh-keygen, OpenSSH format)."""
    args = ["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-f", str(path), "-C", "test"]
    if kind == "rsa":
        args[4:4] = ["-b", "2048"]
    subprocess.run(args, check=True, capture_output=True)
    return path


@dataclass
class Sshd:
    port: int
    host_key: Path
    directory: Path
    process: subprocess.Popen[bytes]

    def known_hosts_line(self, host_key: Path | None = None) -> str:
        """``[127.0.0.1]:PORT type base64``: the known_hosts form for a non-22 port."""
        kind, blob = (host_key or self.host_key).with_suffix(".pub").read_text().split()[:2]
        return f"[127.0.0.1]:{self.port} {kind} {blob}\n"

    def log(self) -> str:
        return (self.directory / "sshd.log").read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process, grace_s=5)


def start_sshd(binary: str, directory: Path, authorized: list[Path]) -> Sshd:
    directory.mkdir(parents=True, exist_ok=True)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege-separation directory
    host_key = keygen(directory / "ssh_host_ed25519_key")
    auth = directory / "authorized_keys"
    auth.write_text("".join(p.with_suffix(".pub").read_text() for p in authorized))
    port = free_port()
    conf = directory / "sshd_config"
    conf.write_text(
        f"Port {port}\n"
        "ListenAddress 127.0.0.1\n"
        f"HostKey {host_key}\n"
        f"AuthorizedKeysFile {auth}\n"
        f"PidFile {directory / 'sshd.pid'}\n"
        "UsePAM no\n"
        "StrictModes no\n"
        "PermitRootLogin prohibit-password\n"
        "PubkeyAuthentication yes\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "LogLevel VERBOSE\n"
    )
    with (directory / "sshd.log").open("wb") as log:
        proc = subprocess.Popen(
            [binary, "-D", "-e", "-f", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env={**os.environ, "LC_ALL": "C"},
        )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited: {(directory / 'sshd.log').read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.settimeout(2)
                if s.recv(64).startswith(b"SSH-2.0-"):
                    return Sshd(port, host_key, directory, proc)
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("sshd did not answer within 10 s")
