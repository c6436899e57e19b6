"""Where the agent keeps its files, per platform: pure functions of (platform, environment),
so the Windows layout is checked here on Linux."""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from agent.config import default_config_file, default_state_dir
from agent.paths import config_file_for, log_dir_for, program_data_dir, state_dir_for

HOME = PurePosixPath("/home/canbo")
WIN_ENV = {"ProgramData": r"D:\ProgramData", "SystemRoot": r"C:\Windows"}


def test_windows_state_config_and_logs_live_under_programdata():
    state = state_dir_for("win32", WIN_ENV, is_root=False, home=HOME)
    assert state == PureWindowsPath(r"D:\ProgramData\ioc-agent")
    assert str(state) == r"D:\ProgramData\ioc-agent"
    assert config_file_for("win32", WIN_ENV) == PureWindowsPath(
        r"D:\ProgramData\ioc-agent\agent.yaml"
    )
    assert log_dir_for("win32", WIN_ENV) == PureWindowsPath(r"D:\ProgramData\ioc-agent\logs")
    # The spool is a file of the state directory: it goes where the state goes.
    assert str(state / "spool.db") == r"D:\ProgramData\ioc-agent\spool.db"


@pytest.mark.parametrize("key", ["PROGRAMDATA", "ProgramData", "programdata"])
def test_windows_environment_names_are_case_insensitive(key):
    assert program_data_dir({key: r"E:\Data"}) == PureWindowsPath(r"E:\Data\ioc-agent")


def test_windows_without_programdata_falls_back_to_the_system_default():
    assert state_dir_for("win32", {}, is_root=True, home=HOME) == PureWindowsPath(
        r"C:\ProgramData\ioc-agent"
    )


def test_state_dir_override_on_every_platform():
    env = {"IOC_AGENT_STATE_DIR": r"C:\ioc\state", **WIN_ENV}
    assert state_dir_for("win32", env, is_root=False, home=HOME) == PureWindowsPath(r"C:\ioc\state")
    env = {"IOC_AGENT_STATE_DIR": "/srv/ioc"}
    assert state_dir_for("linux", env, is_root=True, home=HOME) == PurePosixPath("/srv/ioc")


def test_linux_keeps_its_layout():
    assert state_dir_for("linux", {}, is_root=True, home=HOME) == PurePosixPath(
        "/var/lib/ioc-agent"
    )
    assert state_dir_for("linux", {}, is_root=False, home=HOME) == PurePosixPath(
        "/home/canbo/.local/state/ioc-agent"
    )
    # No implicit configuration file and no log directory: the unit passes --config and
    # the journal keeps the logs.
    assert config_file_for("linux", {}) is None
    assert log_dir_for("linux", {}) is None


def test_no_implicit_configuration_file_on_linux():
    assert default_config_file() is None


def test_default_state_dir_uses_the_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("IOC_AGENT_STATE_DIR", str(tmp_path / "s"))
    assert default_state_dir() == tmp_path / "s"
