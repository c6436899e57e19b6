"""A Python script run in a fresh interpreter, for what only a new process shows: the
modules a code path imports, the memory it keeps resident."""

from __future__ import annotations

import subprocess
import sys

from tests import paths


def run_python(
    script: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> str:
    """``python -c script args`` from the repository's root with a bare environment (PATH,
    PYTHONPATH, and ``env``); its standard output. Fails the test, with the end of its
    standard error, when the script does not exit 0."""
    out = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=paths.ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(paths.ROOT), **(env or {})},
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout
