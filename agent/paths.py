"""Where the agent keeps its state, spool, configuration and logs, per platform.

Pure functions of the platform name (``sys.platform``) and the environment, so that the
Windows layout is tested on Linux:

==============  ==========================================  ==============================
what            Windows (the service runs as LocalSystem)   Linux
==============  ==========================================  ==============================
state, spool    ``%ProgramData%\\ioc-agent``                ``/var/lib/ioc-agent`` (root),
                                                            ``~/.local/state/ioc-agent``
configuration   ``%ProgramData%\\ioc-agent\\agent.yaml``     none (built-in defaults; the
                (read when it exists)                       unit passes ``--config``)
logs            ``%ProgramData%\\ioc-agent\\logs``           the journal (stderr)
==============  ==========================================  ==============================

``IOC_AGENT_STATE_DIR`` overrides the state directory everywhere. On Windows the modes
0600/0700 the agent asks for mean nothing: ``install.ps1`` gives ``%ProgramData%\\ioc-agent``
an ACL for SYSTEM and Administrators only, inheritance removed (docs/agent.md, "Windows
service"), and everything below inherits it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath, PurePosixPath, PureWindowsPath

STATE_DIR_ENV = "IOC_AGENT_STATE_DIR"
APP_DIR = "ioc-agent"
CONFIG_FILE = "agent.yaml"
LOG_DIR = "logs"
#: %ProgramData% when the environment does not say (a service's environment always does).
DEFAULT_PROGRAMDATA = r"C:\ProgramData"


def is_windows(platform: str) -> bool:
    return platform.startswith("win")


def program_data_dir(environ: Mapping[str, str]) -> PureWindowsPath:
    r"""``%ProgramData%\ioc-agent`` (Windows' environment names are case-insensitive)."""
    by_upper = {k.upper(): v for k, v in environ.items()}
    return PureWindowsPath(by_upper.get("PROGRAMDATA") or DEFAULT_PROGRAMDATA) / APP_DIR


def state_dir_for(
    platform: str, environ: Mapping[str, str], *, is_root: bool, home: PurePath
) -> PurePath:
    """Where enrollment state and the spool live on ``platform``."""
    override = environ.get(STATE_DIR_ENV)
    if override:
        return PureWindowsPath(override) if is_windows(platform) else PurePosixPath(override)
    if is_windows(platform):
        return program_data_dir(environ)
    if is_root:
        return PurePosixPath("/var/lib") / APP_DIR
    return PurePosixPath(home) / ".local" / "state" / APP_DIR


def config_file_for(platform: str, environ: Mapping[str, str]) -> PurePath | None:
    """The configuration read when no ``--config`` is given (only when it exists): on
    Windows the one ``install.ps1`` writes; elsewhere none."""
    if is_windows(platform):
        return program_data_dir(environ) / CONFIG_FILE
    return None


def log_dir_for(platform: str, environ: Mapping[str, str]) -> PurePath | None:
    """The rotating log files of the Windows service; None elsewhere (the journal)."""
    if is_windows(platform):
        return program_data_dir(environ) / LOG_DIR
    return None
