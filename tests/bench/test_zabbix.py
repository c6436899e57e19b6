"""Zabbix server beside the collector (bench/zabbix.py): the real Zabbix server 6.0,
provisioned through its real API, stores every value it acknowledges to the sender-protocol
load generator, and the section says how the two sides compare."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from bench.ingest import _workload
from bench.report import footprint_section, zabbix_section
from bench.run import _only
from bench.zabbix import (
    AGENT2_ITEMS,
    FRONTEND,
    agent2_beside,
    item_key,
    passive_check,
    processed,
    sender_frame,
    zabbix_side,
    zabbix_workload,
)
from checks.model import Category, CheckResult, Status
from tests.conftest import REQUIRE_INTEGRATION, require_binary


def test_a_sender_request_is_one_hosts_values_in_the_zbxd_frame() -> None:
    frame = sender_frame("bench-00070", {"host.cpu.cpu_usage": 12.5, "host.uptime.uptime": 3.0})
    assert frame[:5] == b"ZBXD\x01"
    length = int.from_bytes(frame[5:9], "little")
    assert frame[9:13] == bytes(4) and len(frame) == 13 + length
    body = json.loads(frame[13:])
    assert body == {
        "request": "sender data",
        "data": [
            {"host": "bench-00070", "key": "host.cpu.cpu_usage", "value": "12.5"},
            {"host": "bench-00070", "key": "host.uptime.uptime", "value": "3.0"},
        ],
    }
    answer = (
        b'{"response":"success",'
        b'"info":"processed: 28; failed: 2; total: 30; seconds spent: 0.000104"}'
    )
    assert processed(answer) == (28, 2)
    with pytest.raises(ValueError, match="not a sender answer"):
        processed(b'{"response":"failed"}')


def test_item_keys_name_the_check_the_value_and_a_quotable_target() -> None:
    def result(check: str, target: str) -> CheckResult:
        return CheckResult(check=check, target=target, status=Status.OK, category=Category.HOST)

    assert item_key(result("host.cpu", ""), "cpu_usage") == "host.cpu.cpu_usage"
    # A quoted key parameter cannot end in a backslash: Windows drives get a slash.
    assert item_key(result("host.disk", "C:\\"), "disk_free") == 'host.disk.disk_free["C:/"]'


def test_the_zabbix_workload_is_the_collectors_reports_host_by_host(tmp_path: Path) -> None:
    """The same hosts, in the same order, with the same values as the collector's ingest
    benchmark sends them (bench/ingest.py)."""
    collector = _workload(str(tmp_path / "w.db"), 4, values=30)
    zabbix = zabbix_workload(4, values=30)
    assert [h for h, _ in zabbix] == [rep.host for _, rep in collector]
    for (_, values), (_, rep) in zip(zabbix, collector, strict=True):
        assert len(values) == 30
        assert values == {
            item_key(res, name): float(v.value)
            for res in rep.results
            for name, v in res.values.items()
        }


def test_zabbix_stores_every_value_it_acknowledged(tmp_path: Path, postgres_server: Any) -> None:
    """A few seconds of load on a handful of hosts: every value the server answered
    "processed" for is in ``history`` once the count stops growing, and nothing else."""
    for peer in ("zabbix_server", "php", "psql"):
        require_binary(peer)
    if not (FRONTEND / "api_jsonrpc.php").exists():
        msg = "real peer zabbix-frontend-php is not installed (apt-get install it; .ci/run does)"
        if REQUIRE_INTEGRATION:
            pytest.fail(msg)
        pytest.skip(msg)
    z = zabbix_side(tmp_path, postgres_server, hosts=6, connections=4, duration_s=2)
    assert z["zbx_hosts"] == 6, z
    assert z["zbx_items"] >= 6 * 30, z  # the template's items, on every host
    assert z["zbx_errors"] == 0 and z["zbx_failed"] == 0, z
    assert z["zbx_requests"] > 6, z  # every host, several times
    assert z["zbx_processed"] == 30 * z["zbx_requests"], z
    assert z["zbx_stored"] == z["zbx_processed"], z
    assert z["zbx_cpu_s"] > 0 and z["zbx_values_per_core_s"] > 0, z
    assert z["zbx_generator_cpu_s"] > 0, z
    assert 0 < z["zbx_p50_ms"] <= z["zbx_p99_ms"], z


def _figures() -> dict[str, Any]:
    z: dict[str, Any] = {"agents": 2000, "connections": 32, "duration_s": 30.0, "values": 30}
    for prefix, (rate, cpu) in {
        "ioc": (1000, 30.0),
        "pg": (800, 50.0),
        "zbx": (4000, 60.0),
    }.items():
        z.update(
            {
                f"{prefix}_requests": rate * 30,
                f"{prefix}_failed": 0,
                f"{prefix}_stored": rate * 30,
                f"{prefix}_requests_s": rate,
                f"{prefix}_values_s": rate * 30,
                f"{prefix}_stored_values_s": rate * 30,
                f"{prefix}_p50_ms": 10.0,
                f"{prefix}_p99_ms": 40.0,
                f"{prefix}_cpu_s": cpu,
                f"{prefix}_values_per_core_s": round(rate * 30 * 30 / cpu),
                f"{prefix}_generator_cpu_s": 1.0,
            }
        )
    z.update(
        zbx_processed=3_600_000,
        zbx_stored=3_600_000,
        zbx_stored_values_s=110_769,
        zbx_errors=0,
        zbx_hosts=2000,
        zbx_items=64_000,
        zbx_values_per_request=30.0,
        zbx_provision_s=40.0,
        zbx_settle_s=2.5,
        zbx_seconds=30.0,
        zbx_generators=2,
        zbx_trappers=16,
        zbx_syncers=4,
    )
    return z


def test_the_section_compares_the_collectors_best_engine_with_zabbix() -> None:
    text = zabbix_section(_figures())
    # Zabbix acknowledged 120,000 values/s for 30 s; the last was stored 2.5 s after the load.
    row = (
        "| Zabbix server 6.0, PostgreSQL 15 | 4,000 | 120,000 | **110,769** | 10.0 ms | 40.0 ms "
        "| 60.0 s (zabbix_server + PostgreSQL) | 60,000 | 1.0 s |"
    )
    assert row in text
    assert "| commune-ioc collector, SQLite, 1 process | 1,000 | 30,000 | **30,000** |" in text
    # SQLite's 30,000 values/s against Zabbix's 110,769 stored; per core 30,000 against 60,000.
    assert (
        "Collector (best engine) / Zabbix: **0.27** × its values/s stored (0.25 ×\n"
        "its values/s acknowledged), 0.50 × its values per core-second." in text
    )
    assert "0.6 × Zabbix server's in the same run: **not met**; moonshot" in text
    assert "3,600,000 were in `history` 2.5 s after the load\nstopped" in text
    assert "no trigger was defined, so none\nwas evaluated" in text
    assert "re-evaluates the commune's colour" in text
    # A table of nine columns, every row.
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert len(table) == 5 and {line.count("|") for line in table} == {10}


def test_zabbix_is_a_section_of_its_own() -> None:
    assert _only("zabbix") == ["zabbix"]


def test_zabbix_agent2_answers_every_passive_check_and_is_measured(tmp_path: Path) -> None:
    require_binary("zabbix_agent2")
    with agent2_beside(tmp_path / "agent2", interval_s=0.5) as agent2:
        assert float(passive_check(agent2.port, "vm.memory.size[total]")) > 0
        deadline = time.monotonic() + 20
        while len(agent2.rounds) < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        f = agent2.figures()
        pid = agent2.proc.pid
    assert f["agent2_unsupported"] == []  # every item answered, none ZBX_NOTSUPPORTED
    assert f["agent2_rounds"] >= 3 and f["agent2_items"] == len(AGENT2_ITEMS)
    assert 5 < f["agent2_rss_mib"] <= f["agent2_peak_rss_mib"] < 200
    assert 0 < f["agent2_uss_mib"] <= f["agent2_rss_mib"]
    assert f["agent2_cpu_ms_per_round"] >= 0
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_the_footprint_section_puts_zabbix_agent2_beside_node_exporter() -> None:
    f: dict[str, Any] = {
        "agent_environment": "pydantic 2, httpx 0.29, psutil 7",
        "cycles": 10,
        "interval_s": 5.0,
        "results_per_report": 29,
        "ne_scrape_bytes": 57_000,
        "agent_rss_mib": 40.0,
        "agent_peak_rss_mib": 41.0,
        "agent_uss_mib": 30.0,
        "agent_import_rss_mib": 35.0,
        "import_ratio": 1.8,
        "agent_rss_growth_mib": 0.1,
        "agent_first_cycle_cpu_s": 0.5,
        "agent_cpu_ms_per_cycle": 30.0,
        "agent_cpu_ms_max_cycle": 40.0,
        "ne_rss_mib": 20.0,
        "ne_peak_rss_mib": 21.0,
        "ne_uss_mib": 12.0,
        "ne_cpu_ms_per_scrape": 10.0,
        "ne_cpu_ms_max_scrape": 20.0,
        "rss_ratio": 2.0,
        "peak_rss_ratio": 1.95,
        "cpu_ratio": 3.0,
    }
    without = footprint_section(f)
    assert "zabbix_agent2" not in without
    f.update(
        agent2_rounds=10,
        agent2_items=8,
        agent2_unsupported=[],
        agent2_rss_mib=16.0,
        agent2_peak_rss_mib=17.0,
        agent2_uss_mib=11.0,
        agent2_cpu_ms_per_round=3.0,
        agent2_cpu_ms_max_round=10.0,
    )
    text = footprint_section(f)
    node_exporter = text.index("| prometheus-node-exporter |")
    row = "| zabbix_agent2 (8 passive checks a round) | 16.0 MiB | 17.0 MiB | 11.0 MiB | 3.0 ms |"
    assert text.index(row) > node_exporter  # the next row of the same table
    assert text[node_exporter:].split("\n")[1].startswith(row)
    assert "The agent's RSS is\n2.50 × Zabbix agent 2's." in text
