"""``serve`` and ``demo`` take ``--reflector-port``: the reflector moves there, or is refused
at once when the port is not one."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from checks.network.quality import probe_udp
from collector.cli import main
from tests.collector.cli.test_cli_database import Serve, until


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_moves_its_reflector_to_reflector_port(tmp_path: Path) -> None:
    port = _free_udp_port()  # the configuration file says 0: the option wins
    serve = Serve(
        "--db", str(tmp_path / "ioc.db"), "--migrate", "--reflector-port", str(port), cwd=tmp_path
    )
    try:
        until(serve.up, 60, "/healthz answering", serve)
        outcome = asyncio.run(probe_udp("127.0.0.1", port, count=5, interval_s=0.005, wait_s=1.0))
    finally:
        serve.stop()
    assert outcome.section is not None and outcome.section.received == 5


def test_serve_says_what_a_busy_reflector_port_loses(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        serve = Serve(
            "--db",
            str(tmp_path / "ioc.db"),
            "--migrate",
            "--reflector-port",
            str(port),
            cwd=tmp_path,
        )
        try:
            until(serve.up, 60, "/healthz answering", serve)  # serving on
            serve.wait_log("Không mở được bộ phản xạ UDP cho phép đo vc.quality")
        finally:
            serve.stop()
    assert any("--reflector-port" in line and "VC-02" in line for line in serve.log)
    assert not any("Traceback" in line for line in serve.log)


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_reflector_port_out_of_range_is_refused(command: str, tmp_path: Path) -> None:
    r = CliRunner().invoke(
        main, [command, "--db", str(tmp_path / "x.db"), "--reflector-port", "70000"]
    )
    assert r.exit_code == 2 and "--reflector-port" in r.output
    assert not (tmp_path / "x.db").exists()
