"""The Windows service's platform-neutral part, run here on Linux: its log handlers (a real
rotating file; the Event Log only on Windows) and the runner that the service's start and
stop requests drive, against the stand-in collector."""

from __future__ import annotations

import logging
import logging.handlers
import threading
import time
from pathlib import Path

import pytest
import yaml

from agent.state import AgentState, save_state
from agent.winservice import (
    LOG_BACKUPS,
    LOG_FILE,
    ServiceRunner,
    service_log_handlers,
)
from tests.agent.agent_fixtures import ENROLL_OK


def test_linux_handlers_are_one_rotating_utf8_file(tmp_path: Path):
    [handler] = service_log_handlers("linux", {}, log_dir=tmp_path / "logs")
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    assert handler.maxBytes == 5 * 1024 * 1024 and handler.backupCount == LOG_BACKUPS
    # Rotation really happens, and Vietnamese survives it.
    handler.maxBytes = 2000
    logger = logging.getLogger("test.winservice.rotation")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for i in range(100):
            logger.error("Không kết nối được máy chủ IOC lần %d", i)
    finally:
        logger.removeHandler(handler)
        handler.close()
    files = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert files[0] == LOG_FILE and len(files) == 1 + LOG_BACKUPS
    assert all(p.stat().st_size <= 2200 for p in (tmp_path / "logs").iterdir())
    assert "lần 99" in (tmp_path / "logs" / LOG_FILE).read_text(encoding="utf-8")


def test_windows_adds_the_event_log_for_errors(tmp_path: Path):
    made: list[logging.Handler] = []

    def event_log() -> logging.Handler:
        made.append(logging.NullHandler(logging.ERROR))
        return made[-1]

    handlers = service_log_handlers("win32", {}, log_dir=tmp_path, event_log=event_log)
    assert handlers[1:] == made and len(made) == 1
    handlers[0].close()
    assert service_log_handlers("linux", {}, log_dir=tmp_path, event_log=event_log)[1:] == []


def test_a_platform_without_log_directory_must_be_given_one():
    with pytest.raises(ValueError, match="no log directory"):
        service_log_handlers("linux", {})


def write_config(path: Path, collector_url: str, state_dir: Path) -> Path:
    config = {
        "collector": {"url": collector_url},
        "state_dir": str(state_dir),
        "interval_s": 5,
        "checks": {
            "net.dns": {"enabled": False},
            "net.portal": {"enabled": False},
            "net.throughput": {"enabled": False},
        },
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_runner_reports_until_the_stop_request_then_ends_cleanly(
    collector, state_dir, tmp_path: Path
):
    save_state(state_dir, AgentState(collector_url=collector.base, **ENROLL_OK))
    runner = ServiceRunner(write_config(tmp_path / "agent.yaml", collector.base, state_dir))
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(runner.run()), daemon=True)
    thread.start()
    assert runner.wait_started(10)
    deadline = time.monotonic() + 10
    while not any(r[1] == "/api/v1/reports" for r in collector.requests):
        assert time.monotonic() < deadline, "no report reached the collector"
        time.sleep(0.05)
    stopped_at = time.monotonic()
    runner.stop()  # what SvcStop does, from the Service Control Manager's thread
    thread.join(10)
    assert not thread.is_alive() and codes == [0]
    assert time.monotonic() - stopped_at < 3


def test_runner_that_cannot_start_says_why_at_error_and_fails(
    collector, state_dir, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    runner = ServiceRunner(write_config(tmp_path / "agent.yaml", collector.base, state_dir))
    with caplog.at_level(logging.ERROR, logger="agent.winservice"):
        assert runner.run() == 1  # not enrolled: the recovery actions will retry
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert "not enrolled yet" in record.getMessage()
    assert "không khởi động được" in record.getMessage()


def test_a_stop_before_the_start_is_not_lost(collector, state_dir, tmp_path: Path):
    save_state(state_dir, AgentState(collector_url=collector.base, **ENROLL_OK))
    runner = ServiceRunner(write_config(tmp_path / "agent.yaml", collector.base, state_dir))
    runner.stop()
    started = time.monotonic()
    assert runner.run() == 0
    assert time.monotonic() - started < 5
