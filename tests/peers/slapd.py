"""A real OpenLDAP server (Debian slapd) on a free 127.0.0.1 port, for the LDAP login tests.

Its own slapd.conf, MDB database and pid file in a temporary directory; ``-d`` keeps it in
the foreground, logging to a file. Entries are loaded with ``ldapadd`` (ldap-utils) as the
directory's root, passwords hashed with ``slappasswd`` ({SSHA}), as a province's directory
would hold them.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import require_binary
from tests.peers.prometheus import stop_process

SUFFIX = "dc=ioc,dc=test"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PW = "mat-khau-goc-ldap"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Slapd:
    url: str
    directory: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return (self.directory / "slapd.log").read_text(errors="replace")

    def ldif(self, text: str, *, modify: bool = False) -> None:
        """Add (or with ``modify``, apply changes of) LDIF as the root, with ldapadd."""
        tool = "ldapmodify" if modify else "ldapadd"
        r = subprocess.run(
            [require_binary(tool), "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PW],
            input=text.encode(),
            capture_output=True,
            timeout=20,
        )
        assert r.returncode == 0, r.stderr.decode(errors="replace")

    def stop(self) -> None:
        stop_process(self.process, grace_s=5)


def hashed(password: str) -> str:
    out = subprocess.run(
        [require_binary("slappasswd"), "-s", password], capture_output=True, timeout=10
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.decode().strip()


def _config(directory: Path, data: Path) -> str:
    includes = "".join(f"include /etc/ldap/schema/{s}.schema\n" for s in SCHEMAS)
    return (
        f"{includes}"
        "modulepath /usr/lib/ldap\n"
        "moduleload back_mdb\n"
        f"pidfile {directory / 'slapd.pid'}\n"
        f"argsfile {directory / 'slapd.args'}\n"
        # passwords: only to bind with; everything else readable by a bound account only
        "access to attrs=userPassword by self write by anonymous auth by * none\n"
        "access to * by users read by * none\n"
        "database mdb\n"
        "maxsize 16777216\n"
        f'suffix "{SUFFIX}"\n'
        f'rootdn "{ROOT_DN}"\n'
        f"rootpw {hashed(ROOT_PW)}\n"
        f"directory {data}\n"
    )


def start_slapd(directory: Path) -> Slapd:
    """slapd on 127.0.0.1 with the base, people and groups entries; skipped without slapd
    (failed under IOC_REQUIRE_INTEGRATION=1)."""
    binary = require_binary("slapd")
    require_binary("ldapadd")
    directory.mkdir(parents=True, exist_ok=True)
    data = directory / "data"
    data.mkdir(exist_ok=True)
    conf = directory / "slapd.conf"
    conf.write_text(_config(directory, data))
    url = f"ldap://127.0.0.1:{free_port()}"
    with (directory / "slapd.log").open("wb") as log:
        proc = subprocess.Popen(
            [binary, "-f", str(conf), "-h", f"{url}/", "-d", "256"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    slapd = Slapd(url, directory, proc)
    _wait(slapd)
    slapd.ldif(
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: ioc\no: IOC\n\n"
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n"
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n"
    )
    return slapd


def _wait(slapd: Slapd, timeout_s: float = 15.0) -> None:
    port = int(slapd.url.rsplit(":", 1)[1])
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if slapd.process.poll() is not None:
            raise AssertionError(f"slapd exited with {slapd.process.returncode}:\n{slapd.log()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    slapd.stop()
    raise AssertionError(f"slapd did not listen within {timeout_s} s:\n{slapd.log()}")


def person(uid: str, password: str, name: str) -> str:
    """The LDIF of a person under ou=people (inetOrgPerson, hashed password)."""
    return (
        f"dn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {name}\n"
        f"sn: {name.split()[-1]}\nuserPassword: {hashed(password)}\n"
    )


def group(cn: str, members: list[str]) -> str:
    """The LDIF of a groupOfNames under ou=groups with the given people (by uid)."""
    lines = "".join(f"member: uid={m},{PEOPLE}\n" for m in members)
    return f"dn: cn={cn},{GROUPS}\nobjectClass: groupOfNames\ncn: {cn}\n{lines}"


def posix_group(cn: str, gid: int, uids: list[str]) -> str:
    """The LDIF of a posixGroup (members by ``memberUid``) under ou=groups."""
    lines = "".join(f"memberUid: {u}\n" for u in uids)
    return f"dn: cn={cn},{GROUPS}\nobjectClass: posixGroup\ncn: {cn}\ngidNumber: {gid}\n{lines}"
