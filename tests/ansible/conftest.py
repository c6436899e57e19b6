"""Fixtures of the Ansible tests: the ansible tools from the venv and a session wheelhouse.

The wheelhouse (the project wheel plus every dependency, ~40 wheels) is built by the
project's own ``ansible/wheelhouse.yml`` once for the sources it is built from, into
pytest's cache folder, which make test's parallel workers and later runs share (the first
builds it, the others wait and take it).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_INTEGRATION

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = ROOT / "ansible"
#: The packages of the project wheel (pyproject.toml, tool.setuptools.packages.find).
PACKAGES = ("agent", "checks", "collector", "dashboards")
VENV_BIN = Path(sys.executable).parent


def ansible_tool(name: str) -> str:
    """Path of an Ansible tool installed in the project's venv (the `dev` extra)."""
    path = VENV_BIN / name
    if not path.exists():
        found = shutil.which(name)
        if found is None:
            msg = f"{name} is not installed: pip install -e '.[dev]'"
            if REQUIRE_INTEGRATION:
                pytest.fail(msg)
            pytest.skip(msg)
        return found
    return str(path)


def ansible_env(tmp: Path) -> dict[str, str]:
    """Environment for ansible-*: the venv's bin first (molecule and ansible-lint call
    ansible-config), the project's ansible.cfg, a private local temp dir."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_CONFIG"] = str(ANSIBLE_DIR / "ansible.cfg")
    env["ANSIBLE_LOCAL_TEMP"] = str(tmp / "ansible-local")
    env["ANSIBLE_REMOTE_TEMP"] = str(tmp / "ansible-remote")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env.pop("ANSIBLE_INVENTORY", None)
    return env


@dataclass
class PlaybookRun:
    rc: int
    output: str

    def recap(self) -> dict[str, dict[str, int]]:
        """PLAY RECAP counters per host, summed over every play of the run."""
        out: dict[str, dict[str, int]] = {}
        for host, counters in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", self.output, re.M):
            totals = out.setdefault(host, {})
            for key, value in re.findall(r"(\w+)=(\d+)", counters):
                totals[key] = totals.get(key, 0) + int(value)
        return out


def run_playbook(
    playbook: str, inventory: Path, tmp: Path, extra: Sequence[str] = (), timeout: float = 600
) -> PlaybookRun:
    proc = subprocess.run(
        [
            ansible_tool("ansible-playbook"),
            "-i",
            str(inventory),
            str(ANSIBLE_DIR / playbook),
            *extra,
        ],
        cwd=ANSIBLE_DIR,
        env=ansible_env(tmp),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return PlaybookRun(proc.returncode, proc.stdout + proc.stderr)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of this make test run shared by its parallel workers (their base temporary
    directories are siblings); the base directory itself without workers."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@contextmanager
def project_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Held while the project's wheel is built (``pip wheel`` of this repository): setuptools
    builds in the repository's own build/, which two builds at once break ("File exists").
    The lock is shared by make test's parallel workers."""
    with _locked(_shared_dir(tmp_path_factory) / "project-build.lock"):
        yield


#: What a wheelhouse is built from: the packages of the project wheel, its metadata and the
#: playbook (the dependencies come from the same index).
WHEELHOUSE_INPUTS = ("pyproject.toml", "ansible/wheelhouse.yml", *PACKAGES)


def wheelhouse_key(root: Path = ROOT) -> str:
    """A digest of every file a wheelhouse is built from (names and contents)."""
    digest = hashlib.sha256()
    for top in WHEELHOUSE_INPUTS:
        path = root / top
        files = [path] if path.is_file() else sorted(path.rglob("*"))
        for f in files:
            if f.is_file() and "__pycache__" not in f.parts:
                digest.update(f"{f.relative_to(root)}\0".encode())
                digest.update(f.read_bytes())
                digest.update(b"\0")
    return digest.hexdigest()[:20]


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Path:
    """The wheelhouse archive the roles install from, built by ansible/wheelhouse.yml once
    for the sources it is built from (:func:`wheelhouse_key`), in pytest's cache folder: the
    first worker that needs it builds it while the others wait, and they all take that
    archive, as does the next make test run on the same sources (CI's PostgreSQL pass). A
    build takes about a minute of both cores."""
    assert pytestconfig.cache is not None
    cache = pytestconfig.cache.mkdir("ansible-wheelhouse")
    built = cache / wheelhouse_key()
    with _locked(cache / "wheelhouse.lock"):
        if not (built / "wheelhouse.tar").exists():
            for old in cache.iterdir():  # other sources' wheelhouses
                if old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
            tmp = tmp_path_factory.mktemp("wheelhouse-build")
            _build_wheelhouse(tmp, tmp_path_factory)
            shutil.move(tmp, built)  # only a wheelhouse that passed the checks is kept
    return built / "wheelhouse.tar"


def _build_wheelhouse(tmp: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """ansible/wheelhouse.yml into ``tmp`` (``wheelhouse/`` and ``wheelhouse.tar``)."""
    dest = tmp / "wheelhouse"
    inventory = tmp / "localhost.yml"
    inventory.write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        f"      ansible_python_interpreter: {sys.executable}\n"
    )
    archive = tmp / "wheelhouse.tar"
    extra = ["-e", f"ioc_wheelhouse_dir={dest}", "-e", f"ioc_wheelhouse_archive={archive}"]
    with project_build(tmp_path_factory):
        run = run_playbook("wheelhouse.yml", inventory, tmp, extra)
    assert run.rc == 0, run.output[-4000:]
    wheels = sorted(p.name for p in dest.glob("*.whl"))
    assert any(w.startswith("commune_ioc-") for w in wheels), wheels
    assert archive.stat().st_size > 0
