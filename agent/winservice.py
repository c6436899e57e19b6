"""The agent as a Windows service (pywin32's ``win32serviceutil.ServiceFramework``).

``install.ps1`` registers it (``python -m agent.winservice --startup delayed install``, then
``sc.exe failure`` for the recovery actions: restart after 60 s, three times, counter reset
after a day) and starts it. The service runs the same daemon as ``ioc-agent run``, with:

* the configuration ``%ProgramData%\\ioc-agent\\agent.yaml`` and the state and spool beside
  it (agent/paths.py);
* logs in ``%ProgramData%\\ioc-agent\\logs\\agent.log``, rotated at 5 MiB, five kept; errors
  also in the Windows Event Log (Application, source ``ioc-agent``);
* a clean stop: the Service Control Manager's stop request sets the daemon's stop event,
  the cycle in progress completes.

Everything but the ``ServiceFramework`` class is platform-neutral (:class:`ServiceRunner`,
:func:`service_log_handlers`) and tested on Linux; the class exists only on Windows.
"""

from __future__ import annotations

import asyncio
import logging
import logging.handlers
import os
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from agent.paths import config_file_for, log_dir_for

SERVICE_NAME = "ioc-agent"
DISPLAY_NAME = "IOC agent (commune-ioc)"
DESCRIPTION = (
    "Đo mức sẵn sàng của máy tính xã và gửi về trung tâm IOC của tỉnh / "
    "Measures this commune PC's readiness and reports it to the province's IOC."
)
CONFIG_ENV = "IOC_AGENT_CONFIG"
LOG_FILE = "agent.log"
LOG_MAX_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 5
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

if TYPE_CHECKING:
    from agent.daemon import Agent

log = logging.getLogger(__name__)


def _event_log_handler() -> logging.Handler:
    """ERROR and above to the Application event log (needs pywin32's win32evtlogutil)."""
    handler = logging.handlers.NTEventLogHandler(SERVICE_NAME)
    handler.setLevel(logging.ERROR)
    return handler


def service_log_handlers(
    platform: str,
    environ: Mapping[str, str],
    *,
    log_dir: Path | None = None,
    event_log: Callable[[], logging.Handler] = _event_log_handler,
) -> list[logging.Handler]:
    """The service's handlers: a rotating UTF-8 file (``log_dir``, by default
    ``%ProgramData%\\ioc-agent\\logs``) and, on Windows, the Event Log for errors."""
    where = log_dir if log_dir is not None else log_dir_for(platform, environ)
    if where is None:
        raise ValueError(f"no log directory for platform {platform!r}: pass log_dir")
    directory = Path(where)
    directory.mkdir(parents=True, exist_ok=True)
    rotating = logging.handlers.RotatingFileHandler(
        directory / LOG_FILE, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    rotating.setFormatter(logging.Formatter(LOG_FORMAT))
    handlers: list[logging.Handler] = [rotating]
    if platform == "win32":
        handlers.append(event_log())
    return handlers


class ServiceRunner:
    """Runs the agent daemon until :meth:`stop` is called from another thread (the
    Service Control Manager's thread on Windows)."""

    def __init__(self, config_path: Path | None = None) -> None:
        self.config_path = config_path
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._stop_requested = threading.Event()

    def stop(self) -> None:
        """Ask for a clean stop (thread-safe; the cycle in progress completes)."""
        self._stop_requested.set()
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    def wait_started(self, timeout: float) -> bool:
        return self._started.wait(timeout)

    def run(self) -> int:
        """0 after a clean stop; 1 when the agent cannot start (the reason is logged at
        ERROR, so it reaches the Event Log and the Service Control Manager's recovery
        restarts it later)."""
        from agent.config import ConfigError, load_config_apart
        from agent.daemon import Agent
        from agent.spool import SpoolError
        from agent.state import StateError

        # install.ps1 sets IOC_AGENT_CONFIG in the service's environment (registry).
        env = os.environ.get(CONFIG_ENV)
        path = (
            self.config_path
            or (Path(env) if env else None)
            or _existing(config_file_for(sys.platform, os.environ))
        )
        try:
            agent = Agent(load_config_apart(path))
        except (ConfigError, StateError, SpoolError) as exc:
            log.error("ioc-agent cannot start / không khởi động được: %s", exc)
            return 1
        asyncio.run(self._serve(agent))
        return 0

    async def _serve(self, agent: Agent) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if self._stop_requested.is_set():
            self._stop.set()
        self._started.set()
        log.info("ioc-agent service started, reporting to %s", agent.collector_url)
        await agent.run_forever(self._stop)
        log.info("ioc-agent service stopped")


def _existing(path: object) -> Path | None:
    return Path(str(path)) if path is not None and Path(str(path)).is_file() else None


def configure_service_logging(platform: str, environ: Mapping[str, str]) -> None:
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for handler in service_log_handlers(platform, environ):
        root.addHandler(handler)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import servicemanager
    import win32service
    import win32serviceutil

    class AgentService(win32serviceutil.ServiceFramework):
        _svc_name_ = SERVICE_NAME
        _svc_display_name_ = DISPLAY_NAME
        _svc_description_ = DESCRIPTION

        def __init__(self, args: list[str]) -> None:
            super().__init__(args)
            self.runner = ServiceRunner()

        def SvcStop(self) -> None:  # pywin32's name
            self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING)
            self.runner.stop()

        def SvcDoRun(self) -> None:  # pywin32's name
            configure_service_logging(sys.platform, os.environ)
            servicemanager.LogInfoMsg(f"{SERVICE_NAME}: starting")
            if self.runner.run() != 0:
                # Ends the service with an error: the recovery actions restart it.
                raise SystemExit(1)

    def main(argv: list[str] | None = None) -> None:
        """``python -m agent.winservice [--startup delayed] install|update|start|stop|
        remove|debug``: pywin32's command line. The service itself is hosted by pywin32's
        ``pythonservice.exe``, which imports :class:`AgentService`."""
        win32serviceutil.HandleCommandLine(AgentService, argv=sys.argv if argv is None else argv)

else:

    def main(argv: list[str] | None = None) -> None:
        """Windows only: on Linux the agent runs under the systemd unit."""
        raise SystemExit("agent.winservice: Windows only; on Linux use the systemd unit")


if __name__ == "__main__":
    main()
