"""Fixtures of the reliability tests: a real, tiny filesystem to fill."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_INTEGRATION, require_binary


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """``tiny_disk(size_bytes)`` mounts a tmpfs of that size and returns its path; unmounted
    at teardown. Mounting needs root (CI runs as root): skipped otherwise, and a failure
    under IOC_REQUIRE_INTEGRATION=1."""
    mounted: list[Path] = []

    def make(size: int) -> Path:
        mount = require_binary("mount")
        if os.geteuid() != 0:
            msg = "mounting a tmpfs to fill needs root (CI runs the tests as root)"
            if REQUIRE_INTEGRATION:
                pytest.fail(msg)
            pytest.skip(msg)
        path = tmp_path / f"disk{len(mounted)}"
        path.mkdir()
        subprocess.run(
            [mount, "-t", "tmpfs", "-o", f"size={size},mode=0700", "ioc-test", str(path)],
            check=True,
            capture_output=True,
            timeout=30,
        )
        mounted.append(path)
        return path

    yield make
    umount = require_binary("umount") if mounted else ""
    for path in mounted:
        subprocess.run([umount, "-l", str(path)], check=False, capture_output=True, timeout=30)
