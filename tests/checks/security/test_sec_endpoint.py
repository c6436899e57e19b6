"""sec.antivirus, sec.firewall, sec.updates: parsers, heuristics, Windows slots."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from checks.backend import BackendError, FirewallState, NotSupportedError, UpdateInfo
from checks.backend.linux_endpoint import (
    parse_nft_ruleset,
    parse_table_names,
    read_firewall,
)
from checks.backend.windows import SubprocessPowerShell, WindowsBackend
from checks.base import CheckContext
from checks.model import Status
from checks.runner import run_check
from checks.security.antivirus import (
    AntivirusCheck,
    AntivirusConfig,
    evaluate_antivirus,
    parse_antivirus,
)
from checks.security.firewall import FirewallCheck, evaluate_firewall
from checks.security.updates import UpdatesCheck, evaluate_updates
from tests import paths
from tests.checks.checks_fixtures import judged
from tests.peers.windows_shell import recorded

NFT = paths.FIXTURES / "nft"
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def run(check):
    return asyncio.run(run_check(check, CheckContext(host="t")))


# --------------------------------------------------------------------------- antivirus


def test_antivirus_found_case_insensitively():
    section = parse_antivirus(
        ["System", None, "msmpeng.EXE", "explorer.exe"], AntivirusConfig().process_names
    )
    result = evaluate_antivirus(section)
    assert result.status is Status.OK and result.value("antivirus_running") == 1.0
    assert "Microsoft Defender" in result.message


def test_antivirus_absent_fails():
    result = evaluate_antivirus(parse_antivirus(["bash", "sshd"], ["clamd", "ekrn.exe"]))
    assert result.status is Status.FAIL and result.value("antivirus_running") == 0.0


def test_defaults_cover_common_products():
    names = {n.lower() for n in AntivirusConfig().process_names}
    assert {"msmpeng.exe", "clamd", "avp.exe", "ekrn.exe", "bkavservice.exe"} <= names


def test_antivirus_check_sees_a_real_process(tmp_path):
    # This very test process, by its real name: the psutil scan is live.
    import psutil

    me = psutil.Process().name()
    [result] = run(AntivirusCheck(AntivirusConfig(process_names=[me.upper()])))
    assert result.status is Status.OK
    [none] = run(AntivirusCheck(AntivirusConfig(process_names=[])))
    assert none.status is Status.UNKNOWN


# --------------------------------------------------------------------------- firewall


def test_nft_debian_default_is_off():
    state = parse_nft_ruleset((NFT / "debian_default.txt").read_text())
    assert state == FirewallState(False, "nftables: input chain accepts everything (no rules)")


def test_nft_host_firewall_is_on():
    state = parse_nft_ruleset((NFT / "host_firewall.txt").read_text())
    assert state.enabled and "4 rule(s), policy drop" in state.how


def test_nft_docker_forward_rules_are_not_a_host_firewall():
    assert parse_nft_ruleset((NFT / "docker_only.txt").read_text()) == FirewallState(
        False, "nftables: no input chain"
    )
    assert parse_nft_ruleset("").how == "nftables: empty"


def test_nft_input_chain_with_only_a_drop_policy_is_on():
    text = (
        "table inet f {\n chain input {\n  type filter hook input priority 0; policy drop;\n }\n}\n"
    )
    assert parse_nft_ruleset(text) == FirewallState(
        True, "nftables: input chain with 0 rule(s), policy drop"
    )


def _fake_nft(tmp_path: Path, body: str) -> str:
    script = tmp_path / "nft"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return str(script)


def test_read_firewall_runs_nft(tmp_path):
    nft = _fake_nft(tmp_path, f"cat {NFT / 'host_firewall.txt'}\n")
    assert read_firewall(tmp_path, tmp_path, nft=nft).enabled


def test_read_firewall_nft_hangs_is_cut(tmp_path):
    nft = _fake_nft(tmp_path, "exec sleep 30\n")
    start = time.monotonic()
    with pytest.raises(BackendError, match="no answer within 0.5 s"):
        read_firewall(tmp_path / "proc", tmp_path, nft=nft, timeout_s=0.5)
    assert time.monotonic() - start < 3


def test_read_firewall_permission_is_unknown_not_off(tmp_path, monkeypatch):
    nft = _fake_nft(tmp_path, "echo 'Error: Operation not permitted' >&2; exit 1\n")
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    names = proc / "net" / "ip_tables_names"
    names.write_text("filter\n")
    real = Path.read_text

    def refuse(self, *a, **k):  # root reads any file: simulate the agent's service user
        if self == names:
            raise PermissionError(13, "Permission denied")
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "read_text", refuse)
    with pytest.raises(BackendError) as info:
        read_firewall(proc, tmp_path, nft=nft)
    assert "Operation not permitted" in str(info.value)
    assert "permission denied" in str(info.value)


def test_read_firewall_legacy_iptables(tmp_path):
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    (proc / "net" / "ip_tables_names").write_text("nat\nfilter\n")
    assert parse_table_names("nat\nfilter\n") == {"nat", "filter"}
    assert read_firewall(proc, tmp_path, nft="").enabled
    # Empty legacy tables: off only when nf_tables is not loaded either...
    (proc / "net" / "ip_tables_names").write_text("")
    with pytest.raises(BackendError, match="not available"):  # ...which needs /sys/module
        read_firewall(proc, tmp_path, nft="")
    (tmp_path / "module" / "ip_tables").mkdir(parents=True)
    off = read_firewall(proc, tmp_path, nft="")
    assert not off.enabled and "nf_tables not loaded" in off.how
    (tmp_path / "module" / "nf_tables").mkdir(parents=True)
    with pytest.raises(BackendError, match="nft not installed"):
        read_firewall(proc, tmp_path, nft="")


class FakeBackend:
    name = "fake"

    def __init__(self, firewall=None, update=None, error: Exception | None = None):
        self._fw, self._up, self._err = firewall, update, error

    def firewall(self):
        if self._err:
            raise self._err
        return self._fw

    def last_update(self):
        if self._err:
            raise self._err
        return self._up


def test_firewall_check_statuses():
    on = run(FirewallCheck(backend=FakeBackend(FirewallState(True, "nftables: x"))))[0]
    assert on.status is Status.OK and on.value("firewall_enabled") == 1.0
    off = evaluate_firewall(FirewallState(False, "nftables: empty"))
    assert off.status is Status.FAIL and off.value("firewall_enabled") == 0.0
    unknown = run(FirewallCheck(backend=FakeBackend(error=BackendError("no permission"))))[0]
    assert unknown.status is Status.UNKNOWN and unknown.values == {}


# --------------------------------------------------------------------------- updates


@pytest.mark.parametrize(
    ("age", "status"),
    [(1, Status.OK), (30, Status.OK), (31, Status.WARN), (60, Status.WARN), (61, Status.FAIL)],
)
def test_updates_thresholds(age, status):
    info = UpdateInfo(NOW - timedelta(days=age), "apt history.log")
    result = judged(evaluate_updates(info, NOW))
    assert result.status is status
    assert result.value("updates_age") == pytest.approx(age)
    assert result.values["updates_age"].unit == "days"


def test_updates_check_unknown_when_platform_does_not_tell():
    [r] = run(UpdatesCheck(backend=FakeBackend(error=NotSupportedError("no apt"))))
    assert r.status is Status.UNKNOWN and r.message == "no apt"


def test_windows_firewall_and_updates_from_recorded_powershell():
    win = WindowsBackend(recorded())
    [fw] = run(FirewallCheck(backend=win))
    assert fw.status is Status.OK and "Domain, Private, Public" in fw.message
    [up] = run(UpdatesCheck(backend=win))
    assert up.status is Status.OK and "KB2267602" in up.message
    # Without PowerShell (this Linux machine): unknown, saying why, not a crash.
    [r] = run(FirewallCheck(backend=WindowsBackend(SubprocessPowerShell("/nonexistent/pwsh"))))
    assert r.status is Status.UNKNOWN and "cannot run PowerShell" in r.message


def test_updates_reports_the_age_and_leaves_judging_to_the_catalogue():
    info = UpdateInfo(NOW - timedelta(days=90), "apt history.log")
    assert evaluate_updates(info, NOW).status is Status.OK
    assert "updates_age 90 days > 60 days" in judged(evaluate_updates(info, NOW)).message
