"""`ioc-collector dashboards push` against a stand-in for Grafana's HTTP API on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from click.testing import CliRunner

from collector.cli import main
from dashboards.build import DASHBOARDS
from dashboards.push import DEFAULT_FOLDER
from tests.peers.fake_grafana import FakeGrafana

TOKEN = "glsa_test"


@pytest.fixture
def grafana():
    with FakeGrafana(TOKEN) as g:
        yield g


def push(url: str, *extra: str, token: str = TOKEN):
    return CliRunner().invoke(main, ["dashboards", "push", "--url", url, "--token", token, *extra])


def test_push_creates_the_folder_once_and_overwrites_dashboards(grafana) -> None:
    first = push(grafana.url)
    assert first.exit_code == 0, first.output
    assert set(grafana.dashboards) == set(DASHBOARDS)
    assert [f["title"] for f in grafana.folders] == [DEFAULT_FOLDER]
    for uid, saved in grafana.dashboards.items():
        assert saved["folderUid"] == "f1" and saved["version"] == 1
        assert "id" not in saved["dashboard"]
        assert f"{uid}  v1" in first.output

    second = push(grafana.url)  # idempotent: same folder, same uids, new versions
    assert second.exit_code == 0, second.output
    assert len(grafana.folders) == 1
    assert set(grafana.dashboards) == set(DASHBOARDS)
    assert {s["version"] for s in grafana.dashboards.values()} == {2}
    assert grafana.requests.count(("POST", "/api/folders")) == 1


def test_push_into_a_named_existing_folder(grafana) -> None:
    grafana.folders.append({"id": 7, "uid": "ops", "title": "Trung tâm IOC"})
    r = push(grafana.url, "--folder", "Trung tâm IOC")
    assert r.exit_code == 0, r.output
    assert {s["folderUid"] for s in grafana.dashboards.values()} == {"ops"}
    assert ("POST", "/api/folders") not in grafana.requests


def test_server_error_is_one_clear_line(grafana) -> None:
    grafana.fail["/api/dashboards/db"] = (
        412,
        {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"},
    )
    r = push(grafana.url)
    assert r.exit_code == 1
    assert isinstance(r.exception, SystemExit)
    assert "Grafana answered HTTP 412: The dashboard has been changed by someone else" in r.output
    assert "save dashboard" in r.output
    assert "Traceback" not in r.output


def test_internal_error_on_folders(grafana) -> None:
    grafana.fail["/api/folders"] = (500, {"message": "database is locked"})
    r = push(grafana.url)
    assert r.exit_code == 1
    assert r.output.strip() == (
        "Error: list folders: Grafana answered HTTP 500: database is locked"
    )


def test_wrong_token_hints_at_the_service_account(grafana) -> None:
    r = push(grafana.url, token="nope")
    assert r.exit_code == 1
    assert "HTTP 401" in r.output and "service-account token" in r.output
    assert not grafana.dashboards


def test_unreachable_grafana_through_the_real_cli() -> None:
    with socket.socket() as s:  # a loopback port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from collector.cli import main; main()",
            "dashboards",
            "push",
            "--url",
            f"http://127.0.0.1:{port}",
            "--token",
            TOKEN,
            "--timeout",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    url = f"http://127.0.0.1:{port}"
    assert lines[0] == f"Error: health check: cannot reach Grafana at {url}: Connection refused"
    assert f"127.0.0.1:{port}" in lines[0]
    assert "Traceback" not in proc.stderr
