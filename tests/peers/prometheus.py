"""Start real peers (Debian packages) on loopback for integration tests, and stop them."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import httpx
import yaml

from tests.conftest import METRICS_TOKEN


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


def stop_process(proc: subprocess.Popen[Any], grace_s: float = 15) -> None:
    """SIGTERM, then SIGKILL when it has not exited within ``grace_s``; bounded."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


class ReadyServer:
    """A server of the Prometheus family on a loopback port: its output in
    ``workdir/NAME.log``, ready when ``/-/ready`` answers 200, stopped by :meth:`stop`."""

    name: ClassVar[str]
    workdir: Path
    url: str

    def _start(self, argv: list[str]) -> None:
        self.log = (self.workdir / f"{self.name}.log").open("w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(self._ready, 30, f"{self.name} to become ready")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited: see {self.workdir / (self.name + '.log')}")
        return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()


class Prometheus(ReadyServer):
    """Debian's prometheus with its own config and storage under ``workdir``."""

    name = "prometheus"

    def __init__(
        self,
        binary: str,
        workdir: Path,
        scrape_targets: list[str],
        rule_files: list[Path] | None = None,
        scrape_interval: str = "1s",
        scrape_configs: list[dict] | None = None,
        alertmanagers: list[str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        config = workdir / "prometheus.yml"
        #: The collector's scrape token (tests.conftest.METRICS_TOKEN), as Prometheus reads it.
        self.token_file = workdir / "scrape-token"
        self.token_file.write_text(METRICS_TOKEN + "\n", encoding="utf-8")
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {
                        "scrape_interval": scrape_interval,
                        "evaluation_interval": scrape_interval,
                        "scrape_timeout": scrape_interval,
                    },
                    "rule_files": [str(p) for p in rule_files or []],
                    **(
                        {"alerting": {"alertmanagers": [{"static_configs": [{"targets": am}]}]}}
                        if (am := alertmanagers)
                        else {}
                    ),
                    "scrape_configs": scrape_configs
                    or [
                        {
                            "job_name": "ioc-collector",
                            "authorization": {"credentials_file": str(self.token_file)},
                            "static_configs": [{"targets": scrape_targets}],
                        }
                    ],
                }
            ),
            encoding="utf-8",
        )
        self._start(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-lifecycle",
            ]
        )

    def query(self, expr: str) -> list[dict[str, Any]]:
        r = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body = r.json()
        if body.get("status") != "success":
            raise AssertionError(f"query {expr!r} failed: {body}")
        return list(body["data"]["result"])


class Postgres:
    """Debian's PostgreSQL 15 server in a throwaway data directory, on a loopback port.

    Runs as the ``postgres`` system user (the server refuses root), trust auth on loopback
    only; every test database is created fresh by :meth:`create_database`.
    """

    BIN = Path("/usr/lib/postgresql/15/bin")

    def __init__(self) -> None:
        import pwd
        import shutil
        import tempfile

        self.port = free_port()
        # Directly under /tmp: pytest's tmp_path parents are 0700 root, closed to postgres.
        workdir = self.workdir = Path(tempfile.mkdtemp(prefix="ioc-pg-"))
        self.data = workdir / "data"
        self.log = workdir / "postgres.log"
        pw = pwd.getpwnam("postgres")
        shutil.chown(workdir, pw.pw_uid, pw.pw_gid)
        self._as_postgres(
            [
                str(self.BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-instructions",
            ]
        )
        self._as_postgres(
            [
                str(self.BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "-o",
                f"-p {self.port} -k {workdir} -c listen_addresses=127.0.0.1 "
                "-c fsync=on -c max_connections=200",
                "start",
            ]
        )
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._n = 0
        self._template: str | None = None

    @staticmethod
    def _as_postgres(cmd: list[str]) -> None:
        proc = subprocess.run(
            ["runuser", "-u", "postgres", "--", *cmd], capture_output=True, text=True, timeout=120
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {proc.stdout}{proc.stderr}")

    def create_database(self, migrated: bool = False) -> str:
        """A new database; returns its SQLAlchemy URL. Empty, or with ``migrated`` at the
        collector's newest schema: a copy (``CREATE DATABASE ... TEMPLATE``, ~30 ms) of a
        database that the migrations built once for this server (~150 ms each time)."""
        import sqlalchemy

        template = f' TEMPLATE "{self._migrated_template()}"' if migrated else ""
        self._n += 1
        name = f"ioc_test_{self._n}_{free_port()}"
        engine = sqlalchemy.create_engine(self.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"{template}'))
        engine.dispose()
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def _migrated_template(self) -> str:
        """The template of :meth:`create_database` ``(migrated=True)``: made on first use by
        the collector's own migrations, then closed to connections (a template being
        copied must have none)."""
        import sqlalchemy

        from collector.storage.connect import create_schema, make_engine

        name = "ioc_template_migrated"
        if self._template is None:
            url = self.create_database()
            engine = make_engine(url)
            try:
                create_schema(engine)
            finally:
                engine.dispose()
            admin = sqlalchemy.create_engine(self.url, isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as conn:
                    conn.execute(
                        sqlalchemy.text(
                            f'ALTER DATABASE "{url.rsplit("/", 1)[1]}" RENAME TO "{name}"'
                        )
                    )
                    conn.execute(
                        sqlalchemy.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                    )
            finally:
                admin.dispose()
            self._template = name
        return name

    def drop_database(self, url: str) -> None:
        """Close every connection a test left open to ``url``'s database (pools of engines
        nobody disposed, collectors killed mid-transaction) and drop it, so that a long
        run never reaches max_connections."""
        import sqlalchemy

        name = url.rsplit("/", 1)[1]
        engine = sqlalchemy.create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(
                    sqlalchemy.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
                conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}"'))
        finally:
            engine.dispose()

    def stop(self) -> None:
        import shutil

        self._as_postgres(
            [str(self.BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]
        )
        shutil.rmtree(self.workdir, ignore_errors=True)
