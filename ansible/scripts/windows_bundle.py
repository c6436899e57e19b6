#!/usr/bin/env python3
"""Build, on Linux, the offline bundle that installs the agent on a Windows commune PC.

    python ansible/scripts/windows_bundle.py [--out dist/ioc-agent-windows] [--pip "python -m pip"]

(`make windows-bundle`.) The bundle is a directory and its ``.zip``: the commune-ioc wheel,
every wheel the agent needs on CPython 3.11 for win_amd64 (``pip download --platform
win_amd64 --python-version 3.11 --implementation cp --only-binary=:all:``), ``install.ps1``,
``uninstall.ps1`` and ``SHA256SUMS``. Only the agent's dependencies: the collector's extra
is not included.

pip evaluates environment markers against the machine it runs on, not the ``--platform`` it
downloads for, so a Linux ``pip download`` leaves out what only Windows needs (pywin32 for
the service, and any dependency's requirement marked for Windows). :func:`missing`
therefore walks the bundle's own metadata with Windows' marker values
(:data:`WINDOWS_ENV`) and the build downloads what it lacks until nothing is missing; the
same walk is the completeness test.
"""

from __future__ import annotations

import argparse
import hashlib
import shlex
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import NormalizedName, canonicalize_name, parse_wheel_filename
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "ansible/roles/ioc_agent/files/windows"
PS_SCRIPTS = ("install.ps1", "uninstall.ps1")
PROJECT = "commune-ioc"
#: What install.ps1 installs: the agent, and pip for the embeddable Python (which has none).
ROOTS = (PROJECT, "pip")
PYTHON_VERSION = (3, 11)
PLATFORM = "win_amd64"
PLATFORM_ARGS = (
    "--platform",
    PLATFORM,
    "--python-version",
    "3.11",
    "--implementation",
    "cp",
    "--abi",
    "cp311",
    "--only-binary=:all:",
)
#: Marker values of CPython 3.11 on 64-bit Windows 10/11.
WINDOWS_ENV: dict[str, str] = {
    "implementation_name": "cpython",
    "implementation_version": "3.11.9",
    "os_name": "nt",
    "platform_machine": "AMD64",
    "platform_python_implementation": "CPython",
    "platform_release": "10",
    "platform_system": "Windows",
    "platform_version": "10.0.19045",
    "python_full_version": "3.11.9",
    "python_version": "3.11",
    "sys_platform": "win32",
}
MAX_ROUNDS = 6


def target_tags() -> set[Tag]:
    """Wheel tags CPython 3.11 on win_amd64 accepts."""
    return set(cpython_tags(PYTHON_VERSION, platforms=[PLATFORM])) | set(
        compatible_tags(PYTHON_VERSION, "cp311", platforms=[PLATFORM])
    )


@dataclass(frozen=True)
class Wheel:
    path: Path
    name: NormalizedName
    version: Version
    installable: bool  # one of its tags suits the target

    def requires(self) -> list[Requirement]:
        with zipfile.ZipFile(self.path) as zf:
            meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            msg = Parser().parsestr(zf.read(meta).decode("utf-8"))
        return [Requirement(r) for r in msg.get_all("Requires-Dist") or []]


def wheels(directory: Path) -> dict[NormalizedName, list[Wheel]]:
    tags = target_tags()
    out: dict[NormalizedName, list[Wheel]] = {}
    for path in sorted(directory.glob("*.whl")):
        name, version, _build, wheel_tags = parse_wheel_filename(path.name)
        out.setdefault(name, []).append(Wheel(path, name, version, bool(wheel_tags & tags)))
    return out


@dataclass
class _Walk:
    available: dict[NormalizedName, list[Wheel]]
    missing: list[Requirement] = field(default_factory=list)
    seen: set[tuple[NormalizedName, frozenset[str]]] = field(default_factory=set)

    def visit(self, req: Requirement) -> None:
        name = canonicalize_name(req.name)
        key = (name, frozenset(req.extras))
        if key in self.seen:
            return
        self.seen.add(key)
        fits = [
            w
            for w in self.available.get(name, [])
            if w.installable and req.specifier.contains(w.version, prereleases=True)
        ]
        if not fits:
            self.missing.append(req)
            return
        best = max(fits, key=lambda w: w.version)
        for dep in best.requires():
            if _applies(dep, req.extras):
                self.visit(dep)


def _applies(dep: Requirement, extras: Iterable[str]) -> bool:
    if dep.marker is None:
        return True
    return any(
        dep.marker.evaluate({**WINDOWS_ENV, "extra": extra}) for extra in ("", *sorted(extras))
    )


def missing(directory: Path, roots: Sequence[str] = ROOTS) -> list[Requirement]:
    """Requirements of ``roots`` (and theirs, with Windows' markers) that no wheel in
    ``directory`` satisfies for CPython 3.11 on win_amd64: empty for a complete bundle."""
    walk = _Walk(wheels(directory))
    for root in roots:
        walk.visit(Requirement(root))
    return walk.missing


def _without_marker(req: Requirement) -> str:
    """``name[extras]specifier``: pip would drop a requirement whose marker is for Windows."""
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    return f"{req.name}{extras}{req.specifier}"


def _pip(pip: Sequence[str], *args: str) -> None:
    subprocess.run([*pip, *args], check=True, stdout=sys.stderr)


def build(out: Path, pip: Sequence[str]) -> Path:
    """Fill ``out`` with the bundle and return the path of its zip archive."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    _pip(pip, "wheel", "--no-deps", "--wheel-dir", str(out), str(ROOT))
    [project] = sorted(out.glob("commune_ioc-*.whl"))
    _pip(pip, "download", "--dest", str(out), *PLATFORM_ARGS, str(project), *ROOTS[1:])
    for _ in range(MAX_ROUNDS):
        lacking = missing(out)
        if not lacking:
            break
        _pip(pip, "download", "--dest", str(out), *PLATFORM_ARGS, *map(_without_marker, lacking))
    else:
        raise SystemExit(f"bundle still incomplete: {', '.join(map(str, missing(out)))}")
    for script in PS_SCRIPTS:
        shutil.copy2(SCRIPTS / script, out / script)
    sums = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}"
        for p in sorted(out.iterdir())
        if p.is_file()
    ]
    (out / "SHA256SUMS").write_text("\n".join(sums) + "\n", encoding="utf-8")
    archive = shutil.make_archive(str(out), "zip", root_dir=out)
    return Path(archive)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "dist/ioc-agent-windows",
        help="bundle directory (replaced); the .zip is written beside it "
        "(default: dist/ioc-agent-windows)",
    )
    parser.add_argument(
        "--pip",
        default=f"{sys.executable} -m pip",
        help="pip command to run (default: this Python's pip)",
    )
    args = parser.parse_args(argv)
    archive = build(args.out.resolve(), shlex.split(args.pip))
    count = len(list(args.out.glob("*.whl")))
    print(f"{archive}: {count} wheels for CPython 3.11 win_amd64, install.ps1, uninstall.ps1")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
