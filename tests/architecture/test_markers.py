"""The ``db`` marker that chooses what the PostgreSQL pass runs (``make test TESTS=db``):
set from the fixtures a test uses, and a test that reaches the database under test
without it fails instead of silently missing the PostgreSQL pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from collector.service import Services
from tests.conftest import TEST_DATABASE, database_under_test

TESTS = Path(__file__).resolve().parents[1]


def test_a_test_on_the_services_fixture_is_marked_db(
    services: Services, request: pytest.FixtureRequest
) -> None:
    assert request.node.get_closest_marker("db") is not None
    assert services.engine.dialect.name == TEST_DATABASE


def test_importing_the_backend_under_test_marks_the_module_db(
    request: pytest.FixtureRequest,
) -> None:
    # This module imports TEST_DATABASE: every test in it may depend on the backend.
    assert request.node.get_closest_marker("db") is not None


def test_database_under_test_fails_a_test_without_the_mark(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    marked = request.node.own_markers
    monkeypatch.setattr(request.node, "own_markers", [m for m in marked if m.name != "db"])
    with pytest.raises(pytest.fail.Exception, match="not marked db"):
        database_under_test()
    monkeypatch.undo()
    assert database_under_test() == TEST_DATABASE


READS_BACKEND = re.compile(r"(environ|getenv)\W[^\n]*" + "IOC_TEST_" + "DATABASE")


def test_only_the_conftest_reads_the_backend_from_the_environment() -> None:
    # Everything else goes through tests.conftest (TEST_DATABASE, database_under_test,
    # new_database), which is what marks a test db.
    readers = [
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("*.py")
        if path.name != "conftest.py" or path.parent != TESTS
        if READS_BACKEND.search(path.read_text("utf-8"))
    ]
    assert readers == []


@pytest.mark.any_engine
def test_a_test_marked_any_engine_is_not_marked_db_and_may_use_the_database(
    request: pytest.FixtureRequest,
) -> None:
    assert request.node.get_closest_marker("db") is None
    assert database_under_test() == TEST_DATABASE


def test_a_test_that_asks_for_postgresql_itself_is_not_marked_db(
    request: pytest.FixtureRequest,
) -> None:
    # Its module imports TEST_DATABASE (so it is marked db); the selection below is what
    # `make test TESTS=db` runs: a test asking for postgres_server, in every pass on
    # PostgreSQL, is not in it, nor is one marked any_engine.
    selected = _collected("db")
    assert "tests/bench/test_zabbix.py::test_zabbix_stores_every_value_it_acknowledged" not in (
        selected
    )
    assert not [t for t in selected if "test_dashboards_prometheus" in t]
    assert "tests/collector/service/test_rollups.py::test_retention_keeps_raw_tables_flat" in (
        selected
    )


def _collected(marker: str) -> list[str]:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:xdist", "-m", marker,
         "tests/bench/test_zabbix.py", "tests/dashboards/test_dashboards_prometheus.py",
         "tests/collector/service/test_rollups.py"],
        cwd=TESTS.parent, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return [line.strip() for line in done.stdout.splitlines() if "::" in line]
