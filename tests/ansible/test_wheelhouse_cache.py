"""The Ansible tests' wheelhouse is kept in pytest's cache for the sources it was built from:
the key covers every package of the project wheel, and any change to a file it is built
from gives another key (another build)."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from tests.ansible.conftest import PACKAGES, ROOT, WHEELHOUSE_INPUTS, wheelhouse_key


def test_the_key_covers_every_package_of_the_wheel() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert sorted(name.rstrip("*") for name in include) == sorted(PACKAGES)


def test_a_changed_source_changes_the_key(tmp_path: Path) -> None:
    for top in WHEELHOUSE_INPUTS:
        src, dst = ROOT / top, tmp_path / top
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_file():
            shutil.copyfile(src, dst)
        else:
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
    key = wheelhouse_key(tmp_path)
    assert key == wheelhouse_key(ROOT) == wheelhouse_key(tmp_path)
    # A compiled file is not a source: no rebuild for it.
    (tmp_path / "agent" / "__pycache__").mkdir(exist_ok=True)
    (tmp_path / "agent" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert wheelhouse_key(tmp_path) == key
    template = tmp_path / "collector" / "templates"
    changed = next(p for p in sorted(template.iterdir()) if p.is_file())
    changed.write_bytes(changed.read_bytes() + b"\n")
    edited = wheelhouse_key(tmp_path)
    assert edited != key
    (tmp_path / "checks" / "new_module.py").write_text("", encoding="utf-8")
    assert wheelhouse_key(tmp_path) not in (key, edited)
