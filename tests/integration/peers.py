"""Start real peers (Debian packages) on loopback for integration tests, and stop them."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    predicate: Callable[[], Any], timeout_s: float, what: str, every_s: float = 0.25
) -> Any:
    """Poll until ``predicate`` returns something truthy; bounded, then fail with ``what``."""
    deadline = time.monotonic() + timeout_s
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # peer not up yet
            last_exc = exc
        time.sleep(every_s)
    raise TimeoutError(f"timed out after {timeout_s} s waiting for {what} (last error: {last_exc})")


class Prometheus:
    """Debian's prometheus with its own config and storage under ``workdir``."""

    def __init__(
        self,
        binary: str,
        workdir: Path,
        scrape_targets: list[str],
        rule_files: list[Path] | None = None,
        scrape_interval: str = "1s",
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        config = workdir / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {
                        "scrape_interval": scrape_interval,
                        "evaluation_interval": scrape_interval,
                        "scrape_timeout": scrape_interval,
                    },
                    "rule_files": [str(p) for p in rule_files or []],
                    "scrape_configs": [
                        {
                            "job_name": "ioc-collector",
                            "static_configs": [{"targets": scrape_targets}],
                        }
                    ],
                }
            ),
            encoding="utf-8",
        )
        self.log = (workdir / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-lifecycle",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._ready, 30, "prometheus to become ready")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"prometheus exited: see {self.workdir / 'prometheus.log'}")
        return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200

    def query(self, expr: str) -> list[dict[str, Any]]:
        r = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body = r.json()
        if body.get("status") != "success":
            raise AssertionError(f"query {expr!r} failed: {body}")
        return list(body["data"]["result"])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.log.close()
