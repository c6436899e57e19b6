"""``ioc-collector host list|retire`` on a real store (both databases): a commune's hosts
fresh or stale with since when; retiring the stale one re-evaluates its commune at once
without it (yellow -> green) and is audited with the shell user; bad input is one clean
line, never a traceback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner, Result

from collector.cli import main
from collector.criteria.engine import Colour
from tests.collector.service.test_silent_hosts import HK, Host, _attest, _run, _store
from tests.conftest import Clock


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_host_list_and_retire(new_database, tmp_path: Path) -> None:
    url = new_database("collector.db")
    # The command line reads the real clock; staleness by the wall clock alone here.
    config = tmp_path / "collector.yaml"
    config.write_text(f"db: {json.dumps(url)}\ncalendar:\n  round_the_clock: true\n")
    start = datetime.now(UTC) - timedelta(hours=1)
    clock = Clock(start)
    services = _store(url, clock)
    _attest(services)
    failing, healthy = Host(services, clock, "pasc", "disk_full"), Host(services, clock, "office")
    _run(clock, 3, failing, healthy)  # pasc's last report: start + 2 min
    clock.now = datetime.now(UTC)
    _run(clock, 1, healthy)
    assert services.readiness.commune_state(HK).colour is Colour.YELLOW

    r = cli("host", "list", "--commune", HK, "--config", str(config), "--json")
    assert r.exit_code == 0, r.output
    listed = {h["host"]: (h["state"], h["since"]) for h in json.loads(r.output)}
    assert listed["pasc"] == ("stale", (start + timedelta(minutes=2)).isoformat())
    assert listed["office"][0] == "fresh"
    r = cli("host", "list", "--commune", HK, "--config", str(config))
    assert r.exit_code == 0
    assert "số liệu cũ / stale" in r.output and "đang báo cáo / fresh" in r.output

    r = cli("host", "retire", "--commune", HK, "--host", "office", "--config", str(config))
    assert r.exit_code == 1 and "is reporting" in r.output and "Traceback" not in r.output
    r = cli("host", "retire", "--commune", HK, "--host", "nope", "--config", str(config))
    assert r.exit_code == 1 and "no host or agent 'nope'" in r.output
    r = cli("host", "retire", "--commune", "99999", "--host", "pasc", "--config", str(config))
    assert r.exit_code == 1 and "Traceback" not in r.output

    r = cli("host", "retire", "--commune", HK, "--host", "pasc", "--config", str(config))
    assert r.exit_code == 0, r.output
    assert f"host pasc ({failing.ident.agent_id}) of commune {HK} retired" in r.output
    # Re-evaluated by the command at once, without pasc.
    assert services.readiness.commune_state(HK).colour is Colour.GREEN
    [line] = services.audit.entries(target=HK, action_prefix="host.")
    assert line["action"] == "host.retire" and line["actor"].startswith("cli")
    r = cli("host", "list", "--commune", HK, "--config", str(config), "--json")
    assert {h["host"]: h["state"] for h in json.loads(r.output)} == {
        "pasc": "retired",
        "office": "fresh",
    }
    r = cli("host", "retire", "--help")
    assert r.exit_code == 0 and "silent" in r.output
