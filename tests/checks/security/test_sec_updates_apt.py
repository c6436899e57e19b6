"""sec.updates on Debian/Ubuntu: real upgrade events, not a log's modification time.

``tests/fixtures/apt/history.log`` and ``history.log.1.gz`` are apt's own history of a
Debian 12 machine (long package lists shortened, whole entries kept): upgrades, installs
that upgraded dependencies, and install-only runs. The unattended-upgrades samples follow
that program's log lines word for word (a real run, a run with nothing to do, a dry run).
"""

from __future__ import annotations

import gzip
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from checks.backend import BackendError, NotSupportedError
from checks.backend.linux_updates import (
    parse_apt_history,
    parse_unattended_log,
    read_last_update,
)
from checks.security.updates import evaluate_updates
from tests import paths
from tests.checks.checks_fixtures import judged

APT = paths.FIXTURES / "apt"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_newest_upgrade_not_the_newest_install():
    history = parse_apt_history((APT / "history.log").read_text("utf-8"), UTC)
    # 11:39 and 13:15 only installed packages; 10:11 also upgraded openssh-client & co.
    assert history.last_upgrade == _at("2026-12-05 10:11:23")
    assert history.first_entry == _at("2026-12-05 10:11:07")


def test_rotated_history_parsed_and_zone_applied():
    with gzip.open(APT / "history.log.1.gz", "rt", encoding="utf-8") as f:
        text = f.read()
    history = parse_apt_history(text, UTC)
    # The 2026-10-16 run installed only; the 2026-09-22 one upgraded linux-libc-dev.
    assert history.last_upgrade == _at("2026-09-22 04:45:29")
    assert history.first_entry == _at("2025-06-24 14:36:25")
    hanoi = parse_apt_history(text, _tz(7)).last_upgrade
    assert hanoi == _at("2026-09-21 21:45:29")  # apt writes local time


def _tz(hours: int):
    from datetime import timezone

    return timezone(timedelta(hours=hours))


def test_an_upgrade_cut_short_counts_from_its_start():
    text = (
        "Start-Date: 2026-11-02  06:25:11\n"
        "Commandline: /usr/bin/unattended-upgrade\n"
        "Upgrade: libssl3:amd64 (3.0.15-1~deb12u1, 3.0.17-1~deb12u2)\n"
    )
    assert parse_apt_history(text, UTC).last_upgrade == _at("2026-11-02 06:25:11")
    assert parse_apt_history("", UTC).last_upgrade is None
    assert parse_apt_history("Start-Date: garbage\nUpgrade: x\n", UTC).last_upgrade is None


UNATTENDED = (APT / "unattended-upgrades.log").read_text("utf-8")


def test_unattended_upgrades_runs_that_left_the_system_current():
    # The run with nothing to do counts; the dry run and the failed run do not.
    assert parse_unattended_log(UNATTENDED, UTC) == _at("2026-11-21 06:12:46")
    first_only = UNATTENDED.split("2026-11-21 06:12:44")[0]
    assert parse_unattended_log(first_only, UTC) == _at("2026-11-20 06:41:19")
    assert parse_unattended_log("", UTC) is None


def _debian(tmp_path: Path) -> dict[str, Path]:
    roots = {
        "apt_logs": tmp_path / "log/apt",
        "unattended_logs": tmp_path / "log/unattended-upgrades",
        "upgrade_stamp": tmp_path / "periodic/upgrade-stamp",
        "dpkg_status": tmp_path / "dpkg/status",
    }
    for path in roots.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    roots["apt_logs"].mkdir(exist_ok=True)
    roots["dpkg_status"].write_text("Package: bash\n")
    return roots


def test_rotation_does_not_reset_and_installs_do_not_count(tmp_path):
    roots = _debian(tmp_path)
    logs = roots["apt_logs"]
    shutil.copy(APT / "history.log.1.gz", logs / "history.log.1.gz")
    # Just after a rotation: the fresh log holds only install runs, written right now.
    stanzas = (APT / "history.log").read_text("utf-8").strip().split("\n\n")
    (logs / "history.log").write_text("\n\n".join(stanzas[1:]) + "\n")
    # A damaged old rotation is skipped, not fatal.
    (logs / "history.log.2.gz").write_bytes(b"\x1f\x8b\x08not gzip")
    info = read_last_update(**roots, tz=UTC)
    assert info.when == _at("2026-09-22 04:45:29")
    assert info.source == f"apt upgrade ({logs / 'history.log.1.gz'})"
    # The judged age is from the upgrade, not from the log's mtime (now).
    now = _at("2026-12-05 13:20:00")
    age = judged(evaluate_updates(info, now))
    assert age.value("updates_age") == pytest.approx(74.4, abs=0.1)
    # The full current log (with the 10:11 upgrade) then decides.
    shutil.copy(APT / "history.log", logs / "history.log")
    assert read_last_update(**roots, tz=UTC).when == _at("2026-12-05 10:11:23")


def test_unattended_upgrades_state_counts(tmp_path):
    roots = _debian(tmp_path)
    shutil.copy(APT / "history.log.1.gz", roots["apt_logs"] / "history.log.1.gz")
    uu = roots["unattended_logs"]
    uu.mkdir()
    (uu / "unattended-upgrades.log").write_text(UNATTENDED)
    info = read_last_update(**roots, tz=UTC)
    assert info.when == _at("2026-11-21 06:12:46")
    assert "unattended-upgrades" in info.source
    # apt's daily timer touches upgrade-stamp after a good unattended-upgrades run.
    stamp = roots["upgrade_stamp"]
    stamp.write_text("")
    later = _at("2026-11-23 06:30:00").timestamp()
    os.utime(stamp, (later, later))
    info = read_last_update(**roots, tz=UTC)
    assert info.when == _at("2026-11-23 06:30:00") and str(stamp) in info.source


def test_no_upgrade_recorded_is_unknown_and_other_systems_not_supported(tmp_path):
    roots = _debian(tmp_path)
    (roots["apt_logs"] / "history.log").write_text(
        (APT / "history.log").read_text("utf-8").strip().split("\n\n", 1)[1]
    )
    with pytest.raises(BackendError, match=r"apt records no upgrade since 2026-12-05"):
        read_last_update(**roots, tz=UTC)
    roots["dpkg_status"].unlink()
    (roots["apt_logs"] / "history.log").unlink()
    with pytest.raises(NotSupportedError, match="only Debian/Ubuntu"):
        read_last_update(**roots, tz=UTC)


@pytest.mark.skipif(not Path("/var/log/apt/history.log").exists(), reason="not a Debian host")
def test_this_machine():
    """This machine's own apt records: never older than the newest upgrade in its current
    history.log, and not its modification time when the newest entries only installed."""
    text = Path("/var/log/apt/history.log").read_text("utf-8", errors="replace")
    newest = parse_apt_history(text).last_upgrade
    info = read_last_update()
    if newest is not None:
        assert info.when >= newest
        if "apt upgrade" in info.source:
            assert info.when == newest
