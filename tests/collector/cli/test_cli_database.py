"""``ioc-collector migrate``, the schema version check of every other command, the shared
options of the group, and ``serve`` waiting for a database that is not up yet."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from collector.cli import main
from collector.storage.connect import (
    DatabaseUnavailable,
    _alembic_config,
    head_revision,
    make_engine,
    wait_for_database,
)
from tests import paths
from tests.conftest import TEST_DATABASE

ROOT = paths.ROOT


def cli(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


def at_revision(url: str, revision: str) -> None:
    """A database of an earlier release: the migrations up to ``revision`` only."""
    from alembic import command

    engine = make_engine(url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)
    engine.dispose()


def set_revision(url: str, revision: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    engine.dispose()


def clean_refusal(r: Result, *needles: str) -> None:
    assert r.exit_code == 2, r.output
    assert isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.output
    for needle in needles:
        assert needle in r.output, r.output


# ------------------------------------------------------------------------------ migrate


def test_migrate_creates_the_schema_then_finds_it_current(new_database) -> None:
    db = new_database("fresh.db")
    first = cli("migrate", "--db", db)
    assert first.exit_code == 0, first.output
    assert f"schema created, version {head_revision()} (" in first.output
    again = cli("migrate", "--db", db)
    assert again.exit_code == 0, again.output
    assert f"already at the current schema version {head_revision()} (" in again.output
    assert "nothing to do" in again.output
    summary = cli("summary", "--db", db)
    assert summary.exit_code == 0, summary.output
    assert '"communes": 3321' in summary.output


@pytest.mark.skipif(TEST_DATABASE != "postgresql", reason="the lock is PostgreSQL's")
def test_two_migrations_at_once_run_one_after_the_other(new_database) -> None:
    """Two collectors started with `serve --migrate` on one new database: one creates the
    schema, the other waits for its lock and finds it current."""
    from concurrent.futures import ThreadPoolExecutor

    from collector.storage.connect import migrate_schema

    db = new_database("both.db")
    engines = [make_engine(db) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        done = sorted(pool.map(migrate_schema, engines), key=lambda m: m.before or "")
    for engine in engines:
        engine.dispose()
    assert [(m.before, m.after) for m in done] == [
        (None, head_revision()),
        (head_revision(), head_revision()),
    ]


def test_an_older_schema_is_refused_until_migrated(new_database) -> None:
    db = new_database("old.db")
    at_revision(db, "0002")
    for args in (
        ["summary"],
        ["user", "list"],
        ["agents", "list"],
        ["audit"],
        ["enrollment-code", "--commune", "00070"],
    ):
        refused = cli(*args, "--db", db)
        clean_refusal(
            refused,
            "schema version 0002 (incremental evaluation) is older than",
            f"collector's {head_revision()}",
            "run `ioc-collector migrate`",
        )
    engine = make_engine(db)
    with engine.connect() as conn:  # nothing was migrated by the refusals
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0002"
    engine.dispose()
    migrated = cli("migrate", "--db", db)
    assert migrated.exit_code == 0, migrated.output
    assert (
        f"migrated from schema version 0002 (incremental evaluation) to {head_revision()}"
        in migrated.output
    )
    assert cli("summary", "--db", db).exit_code == 0


def test_an_empty_database_is_refused_and_a_missing_file_not_created(
    new_database, tmp_path: Path
) -> None:
    clean_refusal(
        cli("summary", "--db", str(tmp_path / "none.db")),
        "no database there; `ioc-collector migrate` creates it",
    )
    assert not (tmp_path / "none.db").exists()
    db = new_database("empty.db")
    engine = make_engine(db)
    with engine.connect():  # the database exists (a SQLite file too), with no table
        pass
    engine.dispose()
    clean_refusal(
        cli("user", "list", "--db", db),
        "no collector schema (an empty database)",
        "run `ioc-collector migrate`",
    )


def test_a_newer_schema_is_refused_by_every_command_and_by_migrate(
    new_database, tmp_path: Path
) -> None:
    db = new_database("newer.db")
    assert cli("migrate", "--db", db).exit_code == 0
    set_revision(db, "0999")
    message = (
        "schema version 0999 is newer than this collector knows",
        f"(its newest is {head_revision()} (",
    )
    clean_refusal(cli("summary", "--db", db), *message)
    clean_refusal(cli("migrate", "--db", db), *message)
    serve = subprocess.run(
        [
            sys.executable,
            "-m",
            "collector.cli",
            "serve",
            "--db",
            db,
            "--migrate",
            "--listen",
            f"127.0.0.1:{free_port()}",
            "--log-level",
            "warning",
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
        cwd=tmp_path,
    )
    assert serve.returncode == 2, serve.stderr
    assert message[0] in serve.stderr and "Traceback" not in serve.stderr


def test_serve_without_migrate_refuses_an_old_database(tmp_path: Path) -> None:
    serve = subprocess.run(
        [
            sys.executable,
            "-m",
            "collector.cli",
            "serve",
            "--db",
            str(tmp_path / "new.db"),
            "--listen",
            f"127.0.0.1:{free_port()}",
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
        cwd=tmp_path,
    )
    assert serve.returncode == 2, serve.stderr
    assert "`ioc-collector migrate` creates it" in serve.stderr
    assert "Traceback" not in serve.stderr


# ------------------------------------------------------------------------- shared options


def test_shared_options_on_the_group_and_after_the_subcommand(tmp_path: Path) -> None:
    db = str(tmp_path / "shared.db")
    good = tmp_path / "good.yaml"
    good.write_text(f"db: {db}\n")
    bad = str(tmp_path / "missing" / "nowhere.db")
    assert cli("--db", db, "migrate").exit_code == 0
    add = ["user", "add", "--username", "can-bo", "--role", "viewer", "--password-stdin"]
    assert cli("--config", str(good), *add, input="mat-khau-123\n").exit_code == 0
    for args in (
        ["--db", db, "user", "list", "--json"],  # on the group
        ["user", "list", "--db", db, "--json"],  # after the subcommand, as before
        ["--config", str(good), "user", "list", "--json"],
        ["user", "list", "--json", "--config", str(good)],
        ["--db", bad, "user", "list", "--db", db, "--json"],  # after the subcommand wins
        ["--config", str(good), "--db", bad, "user", "list", "--db", db, "--json"],
    ):
        r = cli(*args)
        assert r.exit_code == 0, (args, r.output)
        assert '"can-bo"' in r.output, args
    # --db over the file's db, wherever it is given.
    r = cli("--config", str(good), "summary", "--db", bad)
    clean_refusal(r, "no database there")
    # The log level is a shared option too; a bad value is a usage error (exit 2) anywhere.
    assert cli("--log-level", "debug", "summary", "--db", db).exit_code == 0
    assert cli("summary", "--log-level", "error", "--db", db).exit_code == 0
    assert cli("summary", "--log-level", "loud", "--db", db).exit_code == 2


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


def test_every_command_and_option_explains_itself() -> None:
    commands = list(_commands(main))
    assert {("migrate",), ("serve",), ("summary",), ("user", "add"), ("agents", "revoke")} <= set(
        commands
    )
    for path in [(), *commands]:
        r = cli(*path, "--help")
        assert r.exit_code == 0, (path, r.output)
        command: Any = main
        for name in path:
            command = command.commands[name]
        assert (command.help or "").strip(), f"{' '.join(path)}: no help"
        for param in command.params:
            if isinstance(param, click.Option) and param.name not in ("help", "version"):
                assert param.help, f"{' '.join(path)} {param.opts[0]}: no help"


def test_command_modules_do_not_import_the_group() -> None:
    """The group imports the command modules; a command module imports only the shared
    one (no cycle): importing one in a fresh interpreter leaves the group unimported."""
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, collector.cli.serving, collector.cli.admin, collector.cli.users, "
            "collector.cli.reports, collector.cli.database, collector.cli.catalogue; "
            "print('collector.cli.root' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
        check=True,
    )
    assert probe.stdout.strip() == "False"


# ---------------------------------------------------------------- waiting for the database


def test_wait_for_database_backs_off_then_connects(tmp_path: Path, caplog) -> None:
    """1 s, 2 s, 4 s ... up to 30 s between attempts, one WARNING line each, no traceback;
    the database answers when its directory appears (a volume mounted late)."""
    directory = tmp_path / "later"
    engine = make_engine(str(directory / "ioc.db"))
    slept: list[float] = []
    now = [0.0]

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s
        if len(slept) == 7:
            directory.mkdir()

    caplog.set_level("WARNING", logger="collector.storage")
    wait_for_database(engine, None, sleep=sleep, clock=lambda: now[0])
    assert slept == [1, 2, 4, 8, 16, 30, 30]
    unavailable = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(unavailable) == 7
    assert all(r.levelname == "WARNING" and r.exc_info is None for r in caplog.records)
    assert "unable to open database file" in unavailable[0].getMessage()
    assert "available after 8 attempts (91 s)" in caplog.records[-1].getMessage()

    slept.clear()
    now[0] = 0.0
    with pytest.raises(DatabaseUnavailable, match=r"unavailable: .* \(waited 10 s\)"):
        wait_for_database(
            make_engine(str(tmp_path / "never" / "x.db")), 10, sleep=sleep, clock=lambda: now[0]
        )
    assert slept == [1, 2, 4, 3]  # the last pause cut to the 10 s bound
    with pytest.raises(DatabaseUnavailable):
        wait_for_database(make_engine(str(tmp_path / "never" / "x.db")), 0, sleep=sleep)
    assert slept == [1, 2, 4, 3]  # 0: no waiting at all


class Serve:
    """``ioc-collector serve`` (this checkout's code) with its stderr kept line by line."""

    def __init__(self, *args: str, cwd: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = cwd / "collector.yaml"
        config.write_text("reflector_port: 0\nreevaluate_every_s: 0\n")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "collector.cli",
                "--config",
                str(config),
                "serve",
                "--listen",
                f"127.0.0.1:{self.port}",
                *args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
            cwd=cwd,
        )
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line.rstrip("\n"))

    def wait_log(self, needle: str, timeout_s: float = 60) -> None:
        until(
            lambda: any(needle in line for line in self.log),
            timeout_s,
            f"{needle!r} in the log",
            self,
        )

    def up(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def until(predicate: Callable[[], Any], timeout_s: float, what: str, serve: Serve) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        assert serve.proc.poll() is None, "serve exited:\n" + "\n".join(serve.log)
        time.sleep(0.1)
    raise AssertionError(f"no {what} in {timeout_s} s:\n" + "\n".join(serve.log))


def assert_outage_logged_as_warnings(log: list[str]) -> None:
    waits = [line for line in log if "unavailable" in line]
    assert waits and all(" WARNING collector.storage: database " in line for line in waits), log
    assert not any(" ERROR " in line or "Traceback" in line for line in log), log


def test_serve_waits_for_a_sqlite_directory_that_appears_later(tmp_path: Path) -> None:
    directory = tmp_path / "volume"
    serve = Serve(
        "--db", str(directory / "ioc.db"), "--migrate", "--log-level", "warning", cwd=tmp_path
    )
    try:
        serve.wait_log("attempt 2, next in 2 s", timeout_s=30)
        assert not serve.up()
        directory.mkdir()
        until(serve.up, 60, "/healthz answering", serve)
        serve.wait_log("available after")
    finally:
        serve.stop()
    assert_outage_logged_as_warnings(serve.log)
    assert (directory / "ioc.db").exists()


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_serve_waits_for_a_postgresql_server_that_starts_late(
    private_postgres: Any, tmp_path: Path
) -> None:
    """The machine boots, the collector starts before PostgreSQL: serve says it waits (one
    WARNING line a try, no ERROR, no traceback) and serves once the server is up."""
    url = private_postgres.create_database()
    assert cli("migrate", "--db", url).exit_code == 0
    private_postgres.halt()
    serve = Serve("--db", url, "--log-level", "info", cwd=tmp_path)
    try:
        serve.wait_log("attempt 2, next in 2 s", timeout_s=30)
        assert not serve.up()
        private_postgres.resume()
        until(serve.up, 90, "/healthz answering", serve)
    finally:
        serve.stop()
    assert_outage_logged_as_warnings(serve.log)
    assert any("available after" in line for line in serve.log)
    assert any("Connection refused" in line for line in serve.log), serve.log


# --------------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli_env() -> dict[str, str]:
    """This checkout's code first, whatever collector the environment has installed."""
    path = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT),
    }
