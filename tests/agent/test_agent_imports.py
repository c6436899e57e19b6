"""What ``ioc-agent run`` loads with a commune's default configuration: a guard on the agent's
memory footprint (docs/agent.md, "What is imported when"; docs/BENCHMARKS.md, section 3).

A fresh interpreter imports what ``ioc-agent run`` imports, loads a default configuration (its
internet targets moved to loopback), runs every default check once and asks the collector for its
levels through the agent's sender; then no heavy library may be loaded: not httpx (the agent speaks
HTTP with the standard library), not the libraries of checks whose targets are not configured
(pysnmp, paramiko), not rich (tables of ``ioc-agent check`` only), not the collector's, not difflib
(a bad configuration's hints), not the probe table of ``ioc-agent probe``, not pydantic (the
configuration file is validated in a child interpreter, the records are plain dataclasses); and the
cycle builds no YAML node graph (the message catalogue is read from libyaml's events). A behaviour,
not a timing: it fails the day a module imports one of them at module level again, or the catalogue
is read through the loader again.
"""

from __future__ import annotations

import json
import socket
import textwrap
from pathlib import Path

from tests.fresh import run_python

#: Top-level packages ``ioc-agent run`` must not load with the default configuration.
HEAVY = (
    "httpx",
    "httpcore",
    "anyio",
    "h11",
    "pysnmp",
    "pyasn1",
    "paramiko",
    "cryptography",
    "rich",
    "pygments",
    "sqlalchemy",
    "fastapi",
    "starlette",
    "uvicorn",
    "collector",
    "selenium",
    "difflib",  # "did you mean" of a bad configuration only
    "pydantic",  # validates the configuration in a child interpreter (load_config_apart)
    "pydantic_core",
    "babel",  # a message with a date or a percentage only (checks/fmt.py writes the rest)
)

SCRIPT = textwrap.dedent("""
    import asyncio, json, socket, sys

    resolve = socket.getaddrinfo
    def loopback_only(host, *args, **kwargs):  # no name leaves the machine
        if host not in ("localhost", "127.0.0.1", "::1", None):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (test guard)")
        return resolve(host, *args, **kwargs)
    socket.getaddrinfo = loopback_only

    import agent.cli, agent.daemon  # what `ioc-agent run` imports before its first cycle
    from agent.config import load_config, load_config_apart
    from agent.sender import Sender
    from checks.base import CheckContext
    from checks.runner import run_checks

    # `ioc-agent run` validates its file apart; `ioc-agent check` in its own process
    config = (load_config_apart if sys.argv[2] == "run" else load_config)(sys.argv[1])
    url = config.collector.url

    import yaml  # from here on, count the YAML documents built as node graphs

    graphs = []
    for loader in (yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        def counted(self, _load=loader.get_single_data):
            graphs.append(type(self).__name__)
            return _load(self)
        loader.get_single_data = counted
    if sys.argv[2] == "check":  # `ioc-agent check`: the table needs rich
        from agent.render import print_table
    context = CheckContext(host="pc", collector_url=url)
    results = asyncio.run(run_checks(config.enabled_checks(), context))
    sender = Sender(url, "token", timeout_s=2)
    levels = asyncio.run(sender.fetch_levels())
    print(json.dumps({
        "results": len(results),
        "levels": levels,
        "yaml_graphs": graphs,
        "probe_table": "agent.probes" in sys.modules,
        "modules": sorted({name.split(".")[0] for name in sys.modules}),
    }))
""")


def _closed_port() -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


def _loaded(tmp_path: Path, mode: str) -> dict[str, object]:
    port = _closed_port()
    config = tmp_path / "agent.yaml"
    config.write_text(
        json.dumps(
            {
                "collector": {"url": f"http://127.0.0.1:{port}"},
                "state_dir": str(tmp_path / "state"),
                "checks": {
                    "net.dns": {"names": ["localhost"]},
                    "net.portal": {"targets": [f"http://127.0.0.1:{port}/"]},
                },
            }
        ),
        encoding="utf-8",
    )
    out = run_python(SCRIPT, str(config), mode, env={"HOME": str(tmp_path)})
    data: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return data


def test_run_path_with_the_default_configuration_loads_no_heavy_library(tmp_path: Path) -> None:
    data = _loaded(tmp_path, "run")
    assert isinstance(data["results"], int) and data["results"] >= 20  # the checks did run
    assert data["levels"] is None  # the collector is not there: asked, refused, logged
    modules = set(data["modules"])  # type: ignore[call-overload]
    assert {"agent", "checks", "ssl", "sqlite3"} <= modules
    assert sorted(modules & set(HEAVY)) == []
    # The message catalogue is read from libyaml's events, not built as a node graph whose
    # small objects stay resident once dropped (checks.messages.read_catalogue).
    assert data["yaml_graphs"] == []
    assert data["probe_table"] is False  # `ioc-agent probe`'s commands (agent/probes.py)


def test_the_guard_sees_a_heavy_import(tmp_path: Path) -> None:
    """The same run with ``ioc-agent check``'s table renderer and its configuration
    validated in the process: rich and pydantic are loaded, and seen."""
    modules = set(_loaded(tmp_path, "check")["modules"])  # type: ignore[call-overload]
    assert "rich" in modules
    assert "pydantic" in modules  # the file validated in this process
    assert "httpx" not in modules
