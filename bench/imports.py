"""What each import of ``ioc-agent run`` costs: resident memory and import time.

``python -m bench.imports`` starts a fresh interpreter (the one given by ``--python``, by
default this one: the footprint benchmark passes the agent's own environment), imports the
modules of :data:`RUN_PATH` one after the other, in that order, and loads the default
configuration the way ``ioc-agent run`` does; after each step it reads the process's RSS
(``/proc/self/statm``) and, from ``-X importtime``, the time the step's imports took. Each
row is what that step ADDED to what the rows above it had already loaded, so the rows add
up to the whole run path; a library that an earlier row imported costs nothing in a later
one. The last line lists the third-party packages loaded at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.common import ROOT

#: The run path, libraries first (each with the standard modules it pulls in), then the
#: agent's modules in the order ``ioc-agent run`` reaches them. ``config`` is the step that
#: loads the default configuration and builds its checks.
RUN_PATH = (
    "asyncio",
    "ssl",
    "sqlite3",
    "psutil",
    "yaml",
    "click",
    "msgspec",
    "checks.model",
    "checks.base",
    "checks.check_list",
    "agent.config",
    "agent.cli",
    "agent.sender",
    "agent.daemon",
    "config",
)

#: Runs in the measured interpreter: one JSON line per step on stdout, a marker line on
#: stderr before each step so that ``-X importtime``'s lines can be attributed to it.
_PROBE = r"""
import importlib, json, os, sys
PAGE = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE
def load_config():
    from agent.config import load_config as load
    load(None).enabled_checks()
steps = json.loads(sys.argv[1])
out = [{"step": "(interpreter)", "rss": rss()}]
for step in steps:
    print("@@step " + step, file=sys.stderr, flush=True)
    if step == "config":
        load_config()
    else:
        importlib.import_module(step)
    out.append({"step": step, "rss": rss()})
print("@@end", file=sys.stderr, flush=True)
own = ("agent", "checks", "encodings", "importlib", "_distutils_hack", "__editable__")
tops = sorted({
    n.split(".")[0] for n, m in list(sys.modules.items())
    if m is not None and "site-packages" in (getattr(m, "__file__", None) or "")
} - set(own))
print(json.dumps({"steps": out, "packages": tops}))
"""


@dataclass
class Row:
    step: str
    mib: float
    ms: float


def _import_ms(stderr: str) -> dict[str, float]:
    """Milliseconds of the top-level imports (``-X importtime``'s unindented lines) of each
    step, by step name."""
    per_step: dict[str, float] = {}
    step = "(interpreter)"
    for line in stderr.splitlines():
        if line.startswith("@@step "):
            step = line.split(" ", 1)[1]
        elif line.startswith("@@end"):
            step = "(after)"
        elif line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|", 2)
            if cumulative.strip().isdigit() and not name.startswith("  "):
                per_step[step] = per_step.get(step, 0.0) + int(cumulative) / 1000
    return per_step


def measure(
    python: str = sys.executable, steps: tuple[str, ...] = RUN_PATH, installed: bool = False
) -> dict[str, object]:
    """Run the probe in a fresh ``python`` and return its rows and the packages it loaded:
    the agent of this source tree, or with ``installed`` the one installed in ``python``'s
    environment (the probe then runs outside the tree)."""
    with tempfile.TemporaryDirectory() as elsewhere:
        proc = subprocess.run(
            [python, "-X", "importtime", "-c", _PROBE, json.dumps(list(steps))],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=elsewhere if installed else ROOT,
            env={k: v for k, v in os.environ.items() if not (installed and k == "PYTHONPATH")},
            check=False,
        )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"imports: the probe failed: {tail[0]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    ms = _import_ms(proc.stderr)
    raw = data["steps"]
    rows = [Row(raw[0]["step"], raw[0]["rss"] / 2**20, 0.0)]
    for before, after in zip(raw, raw[1:], strict=False):
        rows.append(
            Row(after["step"], (after["rss"] - before["rss"]) / 2**20, ms.get(after["step"], 0.0))
        )
    return {
        "rows": [(r.step, round(r.mib, 1), round(r.ms, 1)) for r in rows],
        "total_mib": round(raw[-1]["rss"] / 2**20, 1),
        "packages": data["packages"],
    }


def table(result: dict[str, object]) -> str:
    """The Markdown table of :func:`measure`'s result."""
    lines = ["| step (module imported) | + RSS | import time |", "|---|---|---|"]
    for step, mib, ms in result["rows"]:  # type: ignore[attr-defined]
        name = "load the default configuration" if step == "config" else f"`{step}`"
        if step == "(interpreter)":
            lines.append(f"| Python itself, before any import | {mib} MiB | |")
        else:
            lines.append(f"| {name} | {mib:+.1f} MiB | {ms:.0f} ms |")
    lines.append(f"| **the run path in all** | **{result['total_mib']} MiB** | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.imports",
        description=(
            "Resident memory and import time that each module of `ioc-agent run`'s path adds, "
            "measured in a fresh interpreter (Linux: reads /proc/self/statm)."
        ),
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the interpreter to measure, e.g. an agent-only virtual environment's python",
    )
    parser.add_argument(
        "--installed",
        action="store_true",
        help="measure the agent installed in that interpreter's environment, not this tree",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if not Path(args.python).exists():
        print(f"imports: no such interpreter: {args.python}", file=sys.stderr)
        return 2
    try:
        result = measure(args.python, installed=args.installed)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(table(result))
        print(f"\nthird-party packages loaded: {', '.join(result['packages'])}")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
