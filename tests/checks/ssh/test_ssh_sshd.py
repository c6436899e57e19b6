"""Against a real OpenSSH server on 127.0.0.1: pinned keys, refusals, timeouts, output cap."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from checks.base import CheckContext
from checks.messages import text_of
from checks.model import Category, Status
from checks.runner import run_check
from checks.ssh.check import SshCheck, SshConfig, SshTarget
from checks.ssh.client import SshFailure, SshTargetSpec, SshTimeouts, run_commands
from checks.ssh.commands import COMMAND_SETS, CommandSet, read_linux
from tests.conftest import require_binary
from tests.peers.sshd import Sshd, keygen, start_sshd

pytestmark = pytest.mark.integration

PASSPHRASE = "s3cret-Passphrase-42"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("client")
    return {
        "ed25519": keygen(d / "id_ed25519"),
        "rsa": keygen(d / "id_rsa", "rsa", PASSPHRASE),
        "stranger": keygen(d / "id_stranger"),
    }


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory, keys: dict[str, Path]) -> Iterator[Sshd]:
    binary = require_binary("sshd")
    server = start_sshd(binary, tmp_path_factory.mktemp("sshd"), [keys["ed25519"], keys["rsa"]])
    yield server
    server.stop()


@pytest.fixture
def pinned(sshd: Sshd, tmp_path: Path) -> Path:
    path = tmp_path / "known_hosts"
    path.write_text(sshd.known_hosts_line())
    return path


def spec(
    sshd: Sshd,
    keys: dict[str, Path],
    known: Path,
    key: str = "ed25519",
    passphrase: str | None = None,
) -> SshTargetSpec:
    return SshTargetSpec("127.0.0.1", sshd.port, "root", keys[key], known, passphrase)


def target(sshd: Sshd, keys: dict[str, Path], known: Path, **kw: object) -> SshTarget:
    """A target as the configuration file gives it, validated (passphrase as a Secret)."""
    return SshTarget.model_validate(
        {
            "host": "127.0.0.1",
            "port": sshd.port,
            "user": "root",
            "key_file": str(keys["ed25519"]),
            "known_hosts": str(known),
            **kw,
        }
    )


def test_pinned_key_runs_the_linux_set_and_parses_it(sshd, keys, pinned):
    check = SshCheck(SshConfig(targets=[target(sshd, keys, pinned)]))
    [result] = asyncio.run(run_check(check, CheckContext(host="t")))
    assert result.status in (Status.OK, Status.WARN), result.message
    assert result.target == f"127.0.0.1:{sshd.port}/linux"
    assert result.category is Category.HOST
    assert result.value("ssh_up") == 1.0
    assert result.value("memory_total") > 0
    assert 0 < result.value("disk_free_ratio") <= 1
    assert result.value("uptime") > 0


def test_rsa_key_with_passphrase_and_passphrase_never_shown(sshd, keys, pinned):
    cfg = SshConfig(
        targets=[target(sshd, keys, pinned, key_file=str(keys["rsa"]), passphrase=PASSPHRASE)]
    )
    check = SshCheck(cfg)
    [ok] = asyncio.run(run_check(check, CheckContext(host="t")))
    assert ok.value("ssh_up") == 1.0, ok.message
    assert PASSPHRASE not in repr(cfg) and PASSPHRASE not in ok.model_dump_json()
    # Without the passphrase: could not measure, and the reason says so.
    no_pass = SshCheck(SshConfig(targets=[target(sshd, keys, pinned, key_file=str(keys["rsa"]))]))
    [res] = asyncio.run(run_check(no_pass, CheckContext(host="t")))
    assert res.status is Status.UNKNOWN and "encrypted" in res.message


def test_unknown_host_key_is_refused(sshd, keys, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    outcome = run_commands(spec(sshd, keys, empty), ("true",), SshTimeouts())
    assert outcome.failure is SshFailure.UNKNOWN_HOST_KEY
    assert (
        f"[127.0.0.1]:{sshd.port}" in outcome.detail and "not in the known_hosts" in outcome.detail
    )
    assert "SHA256:" in outcome.detail  # the fingerprint to verify out of band
    check = SshCheck(SshConfig(targets=[target(sshd, keys, empty)]))
    [result] = asyncio.run(run_check(check, CheckContext(host="t")))
    assert result.status is Status.UNKNOWN
    assert empty.read_text() == ""  # nothing was added


def test_key_pinned_for_port_22_does_not_match_another_port(sshd, keys, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts_line().replace(f"[127.0.0.1]:{sshd.port}", "127.0.0.1"))
    outcome = run_commands(spec(sshd, keys, known), ("true",), SshTimeouts())
    assert outcome.failure is SshFailure.UNKNOWN_HOST_KEY


def test_changed_host_key_is_refused(sshd, keys, tmp_path):
    other = keygen(tmp_path / "other_host_key")
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts_line(other))
    outcome = run_commands(spec(sshd, keys, known), ("true",), SshTimeouts())
    assert outcome.failure is SshFailure.CHANGED_HOST_KEY
    assert "CHANGED" in outcome.detail and "refusing" in outcome.detail
    check = SshCheck(SshConfig(targets=[target(sshd, keys, known)]))
    [result] = asyncio.run(run_check(check, CheckContext(host="t")))
    assert result.status is Status.FAIL and "CHANGED" in result.message
    assert "ĐÃ THAY ĐỔI" in text_of(result, "vi")


def test_key_not_authorized_is_unknown(sshd, keys, pinned):
    outcome = run_commands(spec(sshd, keys, pinned, key="stranger"), ("true",), SshTimeouts())
    assert outcome.failure is SshFailure.AUTH


@pytest.mark.serial  # times a deadline of about a second: the CPU alone
def test_hanging_command_is_cut_at_its_timeout(sshd, keys, pinned):
    timeouts = SshTimeouts(command_s=2.0)
    start = time.monotonic()
    outcome = run_commands(spec(sshd, keys, pinned), ("sleep 30",), timeouts)
    elapsed = time.monotonic() - start
    [out] = outcome.outputs
    assert out.timed_out and out.exit_status is None
    assert out.elapsed_s < 2.0 + 1.0 and elapsed < 2.0 + 2.0  # + connect and auth

    hang = CommandSet("hang", Category.HOST, ("sleep 30",), read_linux)
    check = SshCheck(
        SshConfig(command_timeout_s=2.0, targets=[target(sshd, keys, pinned, set="linux")]),
        command_sets={"linux": hang},
    )
    start = time.monotonic()
    [result] = asyncio.run(run_check(check, CheckContext(host="t")))
    assert time.monotonic() - start < 2.0 + 2.0
    assert result.status is Status.UNKNOWN and "did not finish within" in result.message


def test_huge_output_is_capped_with_bounded_memory(sshd, keys, pinned):
    cap = 1 << 20
    tracemalloc.start()
    try:
        outcome = run_commands(
            spec(sshd, keys, pinned),
            ("head -c 50000000 /dev/zero",),
            SshTimeouts(command_s=20),
            max_output_bytes=cap,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    [out] = outcome.outputs
    assert out.truncated and len(out.stdout) == cap
    assert peak < 16 * cap, f"peak {peak} bytes for a {cap}-byte cap"

    huge = CommandSet("huge", Category.HOST, ("head -c 50000000 /dev/zero",), read_linux)
    check = SshCheck(SshConfig(targets=[target(sshd, keys, pinned)]), command_sets={"linux": huge})
    [result] = asyncio.run(run_check(check, CheckContext(host="t")))
    assert result.status is Status.UNKNOWN and "over 1,048,576 bytes" in result.message


def test_garbage_output_is_unknown(sshd, keys, pinned):
    junk = CommandSet("junk", Category.HOST, ("head -c 3000 /dev/urandom",), read_linux)
    check = SshCheck(SshConfig(targets=[target(sshd, keys, pinned)]), command_sets={"linux": junk})
    [result] = asyncio.run(run_check(check, CheckContext(host="t")))
    assert result.status is Status.UNKNOWN


def test_failing_command_degrades_to_partial_data(sshd, keys, pinned):
    partial = CommandSet("p", Category.HOST, ("df -P", "free -b", "cat /no/such/file"), read_linux)
    partial_set = {"linux": partial}
    check = SshCheck(SshConfig(targets=[target(sshd, keys, pinned)]), command_sets=partial_set)
    [result] = asyncio.run(run_check(check, CheckContext(host="t")))
    assert result.value("memory_total") and result.value("uptime") is None
    assert "exited 1" in result.message


def test_closed_port_fails(keys, pinned, tmp_path):
    from tests.peers.sshd import free_port

    s = SshTargetSpec("127.0.0.1", free_port(), "root", keys["ed25519"], pinned)
    outcome = run_commands(s, ("true",), SshTimeouts(connect_s=2))
    assert outcome.failure is SshFailure.REFUSED


def test_router_set_is_defined():
    assert COMMAND_SETS["router"].category is Category.NETWORK


def test_cli_probe_ssh(sshd, keys, pinned, tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner

    from agent.cli import main

    runner = CliRunner()
    args = [
        "probe",
        "ssh",
        f"127.0.0.1:{sshd.port}",
        "--user",
        "root",
        "--key",
        str(keys["ed25519"]),
        "--known-hosts",
        str(pinned),
        "--json",
    ]
    done = runner.invoke(main, args)
    assert done.exit_code == 0, done.output
    shown = json.loads(done.output)
    assert shown["check"] == "ssh.command" and shown["target"] == f"127.0.0.1:{sshd.port}/linux"

    monkeypatch.setenv("TEST_SSH_PASS", PASSPHRASE)
    rsa = [
        "probe",
        "ssh",
        f"127.0.0.1:{sshd.port}",
        "--user",
        "root",
        "--key",
        str(keys["rsa"]),
        "--known-hosts",
        str(pinned),
        "--passphrase-env",
        "TEST_SSH_PASS",
    ]
    done = runner.invoke(main, [*rsa, "--json"])
    assert done.exit_code == 0, done.output
    assert PASSPHRASE not in done.output

    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    refused = runner.invoke(main, [*args[:7], "--known-hosts", str(empty), "--json"])
    assert refused.exit_code == 1 and "not in the known_hosts" in refused.output
    table = runner.invoke(main, [*args[:7], "--known-hosts", str(empty), "--lang", "en"])
    assert table.exit_code == 1 and "unknown" in table.output.lower()

    bad_set = runner.invoke(main, [*args, "--set", "cisco"])
    assert bad_set.exit_code == 2 and "unknown command set" in bad_set.output


@pytest.mark.serial  # times a deadline of about a second: the CPU alone
def test_cli_probe_ssh_to_a_silent_server_ends_at_its_timeout(keys, pinned):
    """A server that accepts the connection and never speaks: the whole probe is bounded
    by --timeout."""
    import json
    import socket
    import time

    from click.testing import CliRunner

    from agent.cli import main

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        args = ["probe", "ssh", f"127.0.0.1:{port}", "--user", "root"]
        args += ["--key", str(keys["ed25519"]), "--known-hosts", str(pinned)]
        start = time.monotonic()
        done = CliRunner().invoke(main, [*args, "--timeout", "1.5", "--json"])
        elapsed = time.monotonic() - start
    assert elapsed < 3.0, elapsed
    shown = json.loads(done.output)
    assert done.exit_code == 1 and shown["status"] == "fail", shown
    assert "ssh_up" in shown["values"]
