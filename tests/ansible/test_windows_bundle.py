"""The offline Windows bundle (`make windows-bundle`, ansible/scripts/windows_bundle.py) is
complete: resolving the agent for CPython 3.11 on win_amd64 from the bundle alone, with no
index, succeeds — by pip's resolver and by a walk of the wheels' own metadata with Windows'
marker values (pip, on Linux, evaluates markers for Linux).

Building the bundle needs PyPI (pip's cache makes later runs fast): without it the test is
skipped here and FAILS on CI (IOC_REQUIRE_INTEGRATION=1)."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
from packaging.utils import canonicalize_name

from tests.ansible.conftest import project_build
from tests.conftest import REQUIRE_INTEGRATION

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "ansible/scripts/windows_bundle.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("windows_bundle", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["windows_bundle"] = module
    spec.loader.exec_module(module)
    return module


wb = load_script()


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("windows-bundle") / "ioc-agent-windows"
    with project_build(tmp_path_factory):  # the script builds the project's wheel
        proc = subprocess.run(
            [sys.executable, str(SCRIPT), "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    if proc.returncode != 0:
        msg = f"cannot build the Windows bundle (PyPI needed): {proc.stderr[-1500:]}"
        if REQUIRE_INTEGRATION:
            pytest.fail(msg)
        pytest.skip(msg)
    return out


def dry_run(bundle: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """pip resolving the agent for CPython 3.11 win_amd64 from ``bundle`` alone."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--no-index",
            "--find-links",
            str(bundle),
            *wb.PLATFORM_ARGS,
            "--target",
            str(tmp_path / "target"),
            "--disable-pip-version-check",
            "commune-ioc",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.integration
@pytest.mark.timeout(360)
def test_bundle_resolves_the_agent_for_windows_without_an_index(
    bundle: Path, tmp_path: Path
) -> None:
    names = {p.name.split("-")[0].lower() for p in bundle.glob("*.whl")}
    # What only Windows needs, which a Linux `pip download` leaves out by itself.
    assert "pywin32" in names, sorted(names)
    assert {"commune_ioc", "truststore", "psutil", "pip", "pydantic_core"} <= names
    assert "httpx" not in names  # the agent speaks HTTP with the standard library
    assert not names & {"fastapi", "uvicorn", "sqlalchemy"}, "the collector is not shipped"
    assert wb.missing(bundle) == []
    assert all(w.installable for ws in wb.wheels(bundle).values() for w in ws)

    # pip's own resolver, from the bundle alone.
    proc = dry_run(bundle, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Would install" in proc.stdout and "commune-ioc-" in proc.stdout


@pytest.mark.integration
def test_a_bundle_without_a_windows_only_wheel_is_found_incomplete(
    bundle: Path, tmp_path: Path
) -> None:
    partial = tmp_path / "partial"
    shutil.copytree(bundle, partial)
    for wheel in partial.glob("pywin32-*.whl"):
        wheel.unlink()
    assert [str(r) for r in wb.missing(partial)] == ['pywin32>=306; sys_platform == "win32"']
    # pip's resolver on Linux does not see it: it evaluates the marker for Linux.
    assert dry_run(partial, tmp_path).returncode == 0
    # A dependency of a dependency is missed too.
    for wheel in partial.glob("typing_extensions-*.whl"):
        wheel.unlink()
    lacking = sorted(canonicalize_name(r.name) for r in wb.missing(partial))
    assert lacking == ["pywin32", "typing-extensions"]
    assert dry_run(partial, tmp_path).returncode != 0


@pytest.mark.integration
def test_bundle_ships_the_scripts_and_checksums_in_a_zip(bundle: Path) -> None:
    for script in wb.PS_SCRIPTS:
        assert (bundle / script).read_bytes() == (wb.SCRIPTS / script).read_bytes()
    sums = dict(
        reversed(line.split("  ", 1))
        for line in (bundle / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    )
    files = sorted(p.name for p in bundle.iterdir() if p.name != "SHA256SUMS")
    assert sorted(sums) == files
    for name, digest in sums.items():
        assert hashlib.sha256((bundle / name).read_bytes()).hexdigest() == digest
    with zipfile.ZipFile(bundle.with_suffix(".zip")) as zf:
        assert sorted(zf.namelist()) == sorted([*files, "SHA256SUMS"])


def test_windows_markers_pick_what_windows_needs(tmp_path: Path) -> None:
    """Without the network: the marker walk reads a wheel's Requires-Dist with Windows'
    values (a requirement for Windows applies, one for Linux does not)."""
    from packaging.requirements import Requirement

    assert wb._applies(Requirement("colorama; platform_system == 'Windows'"), ())
    assert wb._applies(Requirement("pywin32>=306; sys_platform == 'win32'"), ())
    assert not wb._applies(Requirement("uvloop; sys_platform != 'win32'"), ())
    assert not wb._applies(Requirement("brotli; extra == 'brotli'"), ())
    assert wb._applies(Requirement("brotli; extra == 'brotli'"), ("brotli",))
    assert wb._without_marker(Requirement("pywin32>=306; sys_platform == 'win32'")) == (
        "pywin32>=306"
    )
