"""A name whose resolver never answers is ``unknown`` ("cannot resolve <name>: no answer
within N s") within the probe's deadline, for every probe that resolves; and the process
exits then, not when the resolver gives up (30 s per try in the namespace)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.peers.dns import SILENT_NAME, SilentResolver, silent_resolver

# Deadlines of a few seconds, measured: with the CPU alone (make test runs them after the rest).
pytestmark = pytest.mark.serial


@pytest.fixture(scope="module")
def resolver() -> Iterator[SilentResolver]:
    with silent_resolver() as r:
        yield r


def _probe(resolver: SilentResolver, *args: str) -> tuple[dict, float, int]:
    start = time.monotonic()
    done = resolver.agent("probe", *args, "--json", timeout_s=25)
    elapsed = time.monotonic() - start
    assert "Traceback" not in done.stderr, done.stderr
    result = json.loads(done.stdout)
    return result, elapsed, done.returncode


@pytest.mark.parametrize(
    ("args", "check"),
    [
        (["tcp", f"{SILENT_NAME}:80", "--timeout", "2"], "net.tcp"),
        (["http", f"http://{SILENT_NAME}/", "--timeout", "2"], "net.http"),
        (["sip", SILENT_NAME, "--timeout", "2"], "vc.sip"),
        (["stun", SILENT_NAME, "--timeout", "2"], "vc.stun"),
        (["snmp", SILENT_NAME, "--community", "ioc-c", "--timeout", "2"], "eq.snmp_host"),
    ],
)
def test_unanswered_name_is_unknown_within_the_probe_deadline(resolver, args, check):
    result, elapsed, code = _probe(resolver, *args)
    assert elapsed < 6.0, elapsed  # 2 s deadline + interpreter start, far below 30 s
    assert result["check"] == check
    assert result["status"] == "unknown"
    assert result["message"] == f"cannot resolve {SILENT_NAME}: no answer within 2 s"
    assert code == 1


def test_unanswered_dns_check_lets_the_agent_exit_at_its_deadline(resolver, tmp_path):
    """Every default check runs; each resolves under its own deadline (5 s at most here), so
    the command ends long before the resolver's 30 s."""
    config = tmp_path / "agent.yaml"
    config.write_text(
        f"checks:\n  net.dns: {{names: [{SILENT_NAME}], resolve_timeout_s: 1.5, timeout_s: 3}}\n"
    )
    start = time.monotonic()
    done = resolver.agent("check", "--config", str(config), "--json")
    elapsed = time.monotonic() - start
    assert "Traceback" not in done.stderr, done.stderr
    assert elapsed < 12.0, elapsed
    (result,) = [r for r in json.loads(done.stdout)["results"] if r["check"] == "net.dns"]
    assert result["status"] == "unknown"
    assert result["message"] == f"cannot resolve {SILENT_NAME}: no answer within 1.5 s"


def test_unanswered_name_for_ssh_is_unknown_within_its_connect_deadline(resolver, tmp_path):
    key, known_hosts = tmp_path / "id", tmp_path / "known_hosts"
    key.write_text("not read: the name does not resolve first\n")
    known_hosts.write_text("")
    result, elapsed, code = _probe(
        resolver,
        "ssh",
        SILENT_NAME,
        "--user",
        "ioc",
        "--key",
        str(key),
        "--known-hosts",
        str(known_hosts),
        "--timeout",
        "2",
    )
    assert elapsed < 6.0, elapsed
    assert result["check"] == "ssh.command" and result["status"] == "unknown"
    assert result["message"] == f"cannot resolve {SILENT_NAME}: no answer within 2 s"
    assert code == 1
