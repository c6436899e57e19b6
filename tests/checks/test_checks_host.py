import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from checks.base import CheckContext
from checks.host.health import (
    ClockCheck,
    ClockSection,
    CpuSection,
    DiskCheck,
    DiskConfig,
    evaluate_clock,
    evaluate_cpu,
    evaluate_disk,
    evaluate_memory,
    evaluate_uptime,
    parse_clock,
    parse_cpu,
    parse_disk,
    parse_memory,
)
from checks.model import Status
from tests.checks.checks_fixtures import FIXTURES, json_body, judged

PSUTIL = FIXTURES / "psutil"


def test_cpu_parse_and_boundaries():
    section = parse_cpu(90.0, (1.5, 1.0, 0.5))
    assert section.usage_ratio == pytest.approx(0.9) and section.load1 == 1.5
    assert judged(evaluate_cpu(section)).status is Status.OK  # warn *above* 0.9
    busy = evaluate_cpu(CpuSection(0.91, 4.0))
    assert busy.status is Status.OK  # measured; the catalogue's levels judge it
    assert judged(busy).status is Status.WARN and "cpu_usage 91% > 90%" in judged(busy).message
    assert busy.values["cpu_usage"].unit == "ratio" and busy.values["load1"].unit == ""


def test_memory_recorded_low_memory_warns():
    section = parse_memory(json.loads((PSUTIL / "virtual_memory_low.json").read_text()))
    result = judged(evaluate_memory(section))
    assert result.status is Status.WARN  # 7.5 % available
    assert result.values["memory_available"].unit == "bytes"
    assert result.value("memory_total") == 4102225920


@pytest.mark.parametrize(
    ("available", "status"),
    [(100, Status.OK), (10, Status.OK), (9, Status.WARN), (5, Status.WARN), (4, Status.FAIL)],
)
def test_memory_boundaries(available, status):
    section = parse_memory({"total": 100, "available": available})
    assert judged(evaluate_memory(section)).status is status


def test_disk_recorded_nearly_full_fails():
    usage = json.loads((PSUTIL / "disk_usage_root.json").read_text())
    result = judged(evaluate_disk(parse_disk("/", usage)))
    assert result.status is Status.FAIL  # 6.8 % free
    assert result.message.endswith("disk_free_ratio 7% < 10%")
    assert result.target == "/"
    assert set(result.values) == {"disk_free", "disk_free_ratio", "disk_size"}


@pytest.mark.parametrize(
    ("free", "status"),
    [(20, Status.OK), (19, Status.WARN), (10, Status.WARN), (9, Status.FAIL)],
)
def test_disk_boundaries(free, status):
    section = parse_disk("/data", {"total": 100, "free": free})
    assert judged(evaluate_disk(section)).status is status


def test_retired_threshold_options_are_ignored_with_a_warning(caplog):
    """A configuration written when checks had thresholds keeps working: the option is
    ignored, and the warning says where levels are set now."""
    cfg = DiskConfig.model_validate({"paths": ["/"], "warn_free_ratio": 0.5})
    assert cfg.paths == ["/"] and not hasattr(cfg, "warn_free_ratio")
    assert "ignored: warn_free_ratio" in caplog.text and "catalogue" in caplog.text
    assert evaluate_disk(parse_disk("/", {"total": 100, "free": 40})).status is Status.OK


def test_disk_check_one_result_per_path_and_unknown_for_missing(tmp_path):
    check = DiskCheck(DiskConfig(paths=[str(tmp_path), str(tmp_path / "nope")]))
    results = asyncio.run(check.run(CheckContext(host="h")))
    assert [r.target for r in results] == [str(tmp_path), str(tmp_path / "nope")]
    assert results[0].status in (Status.OK, Status.WARN, Status.FAIL)
    assert results[1].status is Status.UNKNOWN


def test_uptime():
    result = evaluate_uptime(1000.0, 4600.0)
    assert result.status is Status.OK and result.value("uptime") == 3600.0
    assert result.values["uptime"].unit == "seconds"


def test_clock_offset_is_ntp_style():
    server = datetime(2025, 7, 1, 8, 0, 0, 700000, tzinfo=UTC)
    t0 = datetime(2025, 7, 1, 8, 0, 0, tzinfo=UTC).timestamp()
    section = parse_clock(t0, t0 + 0.2, {"server_time": server.isoformat()})
    assert section.offset_s == pytest.approx(0.6)  # server read its clock at our t0 + 0.1
    result = judged(evaluate_clock("https://c", section))
    assert result.status is Status.WARN
    assert result.value("clock_offset") == pytest.approx(0.6)
    assert result.value("clock_offset_abs") == pytest.approx(0.6)


@pytest.mark.parametrize(
    ("offset", "status"),
    [(0.5, Status.OK), (-0.51, Status.WARN), (1.0, Status.WARN), (-1.01, Status.FAIL)],
)
def test_clock_boundaries(offset, status):
    result = judged(evaluate_clock("c", ClockSection(offset, 0.01)))
    assert result.status is status
    assert result.value("clock_offset") == offset
    assert result.value("clock_offset_abs") == abs(offset)


def test_clock_without_collector_is_unknown():
    (result,) = asyncio.run(ClockCheck().run(CheckContext(host="h")))
    assert result.status is Status.UNKNOWN and result.message == "no collector configured"


def test_clock_against_local_collector(http_server):
    ahead = lambda: json_body(  # noqa: E731
        {"server_time": (datetime.now(UTC) + timedelta(seconds=5)).isoformat()}
    )
    http_server.routes["/api/v1/time"] = (200, {"Content-Type": "application/json"}, ahead)
    ctx = CheckContext(host="h", collector_url=http_server.base)
    (result,) = asyncio.run(ClockCheck().run(ctx))
    assert judged(result).status is Status.FAIL
    assert result.target == http_server.base
    assert result.value("clock_offset") == pytest.approx(5, abs=0.3)


def test_clock_collector_without_time_endpoint_is_unknown(http_server):
    ctx = CheckContext(host="h", collector_url=http_server.base)
    (result,) = asyncio.run(ClockCheck().run(ctx))
    assert result.status is Status.UNKNOWN
    assert "cannot read the collector's time" in result.message
