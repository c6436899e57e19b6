"""Shared test fixtures: a collector on a fresh database (SQLite, or PostgreSQL with
IOC_TEST_DATABASE=postgresql), served on loopback."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import shutil
import socket
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collector.api.app import create_app
from collector.api.server import BackgroundServer
from collector.config import CollectorConfig
from collector.criteria.catalogue import load_catalogue
from collector.domain.units import load_units
from collector.service import Services, services_for
from collector.storage.connect import create_schema, database_url, make_engine

REQUIRE_INTEGRATION = os.environ.get("IOC_REQUIRE_INTEGRATION") == "1"
#: Backend of every collector store in the tests: "sqlite" (default) or "postgresql", in
#: which case a throwaway Debian PostgreSQL server is started for the session.
TEST_DATABASE = os.environ.get("IOC_TEST_DATABASE", "sqlite")


#: The scrape token of the collectors under test (/metrics needs one): send ``SCRAPE``.
METRICS_TOKEN = "test-scrape-token-0123456789abcdef"
METRICS_TOKEN_HASH = hashlib.sha256(METRICS_TOKEN.encode()).hexdigest()
SCRAPE = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def app_config(**options: Any) -> CollectorConfig:
    """The configuration of a collector app under test: ``options`` over the defaults, with
    neither the periodic re-evaluation nor the UDP reflector unless a test asks for them,
    and /metrics open to ``SCRAPE``."""
    return CollectorConfig.model_validate(
        {
            "reevaluate_every_s": 0,
            "reflector_port": 0,
            "metrics_token_hashes": [METRICS_TOKEN_HASH],
            **options,
        }
    )


_real_getaddrinfo = socket.getaddrinfo


def _loopback(host: object) -> bool:
    if host in (None, "localhost", b"localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may only reach 127.0.0.1/::1: any other name fails to resolve (so no test can
    reach, say, dichvucong.gov.vn through a default target)."""

    def guarded(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not _loopback(host):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (test guard)")
        return _real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


#: Fixtures whose tests run on the database under test, and names a test's or a fixture's
#: module imports to choose it: such tests are marked ``db`` at collection, the only ones the
#: PostgreSQL pass runs (``make test TESTS=db``). A test that asks for ``postgres_server``
#: itself runs on PostgreSQL in every pass, so once is enough; a test marked ``any_engine``
#: uses the database only as the store behind what it tests, and is not marked ``db``.
DB_FIXTURES = frozenset({"new_database"})
DB_NAMES = ("TEST_DATABASE", "database_for")

_running: dict[str, pytest.Item] = {}


def _uses_database(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    if DB_FIXTURES & set(info.names_closure):
        return True
    functions = [getattr(item, "obj", None)]
    functions += [d.func for defs in info.name2fixturedefs.values() for d in defs]
    modules = [getattr(function, "__globals__", {}) for function in functions]
    # This module's own fixtures name TEST_DATABASE; those that use it are in DB_FIXTURES.
    return any(
        name in module
        for module in modules
        if module.get("__file__") != __file__
        for name in DB_NAMES
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``db`` every test that reaches the database under test through a fixture, or
    whose module (or a fixture's) imports what chooses it; ``db`` may also be set by hand."""
    for item in items:
        if item.get_closest_marker("any_engine") is not None:
            continue
        if item.get_closest_marker("db") is None and _uses_database(item):
            item.add_marker(pytest.mark.db)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _running["item"] = item


def database_under_test() -> str:
    """The backend under test ("sqlite" or "postgresql"), for code that makes a database;
    fails a test not marked ``db`` (the PostgreSQL pass would never run it): a forgotten mark
    shows in the SQLite pass instead of leaving the test out of the PostgreSQL one."""
    item = _running.get("item")
    if item is not None and not any(item.get_closest_marker(m) for m in ("db", "any_engine")):
        pytest.fail(
            f"{item.nodeid} uses the database under test but is not marked db: add "
            "@pytest.mark.db, or reach it through the new_database fixture (or mark it "
            "any_engine if the engine cannot change its outcome)"
        )
    return TEST_DATABASE


def require_binary(name: str) -> str:
    """Path of a real peer's binary; skip without it, or FAIL on CI (IOC_REQUIRE_INTEGRATION=1)."""
    path = shutil.which(name) or (
        f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None
    )
    if path is None:
        msg = f"real peer {name!r} is not installed (apt-get install it; .ci/run does)"
        if REQUIRE_INTEGRATION:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


class Clock:
    """A settable clock for time-dependent behaviour (staleness, expiry)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@dataclass
class Collector:
    services: Services
    url: str
    clock: Clock
    app: Any = None


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """A throwaway Debian PostgreSQL server for the session (started on first use)."""
    from tests.peers.prometheus import Postgres

    require_binary("runuser")
    if not Path(Postgres.BIN / "postgres").exists():
        msg = "real peer PostgreSQL 15 is not installed (apt-get install postgresql)"
        if REQUIRE_INTEGRATION:
            pytest.fail(msg)
        pytest.skip(msg)
    server = Postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def private_postgres() -> Iterator[Any]:
    """A PostgreSQL server of the test's own, which it may halt and resume."""
    require_binary("runuser")
    from tests.peers.faults import stoppable_postgres
    from tests.peers.prometheus import Postgres

    if not (Postgres.BIN / "postgres").exists():
        msg = "real peer PostgreSQL 15 is not installed (apt-get install postgresql)"
        if REQUIRE_INTEGRATION:
            pytest.fail(msg)
        pytest.skip(msg)
    server = stoppable_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the collector's newest schema, built once a session (each worker)
    by the migrations, for :func:`new_database` to copy."""
    path = tmp_path_factory.mktemp("migrated") / "template.db"
    engine = make_engine(str(path))
    try:
        create_schema(engine)
    finally:
        engine.dispose()  # the last connection closed: the WAL is checkpointed into the file
    return path


@pytest.fixture
def new_database(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., str]]:
    """Make a fresh database of the backend under test; returns its URL or path. Empty, or
    with ``migrated=True`` at the collector's newest schema: a copy of a database the
    migrations built once a session (tests of the migrations themselves start empty).
    PostgreSQL databases are dropped after the test, with any connection left open."""
    made: list[str] = []

    def make(name: str = "collector.db", *, migrated: bool = False) -> str:
        if database_under_test() == "postgresql":
            server = request.getfixturevalue("postgres_server")
            url = str(server.create_database(migrated=migrated))
            made.append(url)
            return url
        path = tmp_path / name
        if migrated:
            shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        return str(path)

    yield make
    if made:
        server = request.getfixturevalue("postgres_server")
        for url in made:
            server.drop_database(url)


@pytest.fixture
def make_services(new_database: Callable[..., str]) -> Callable[..., Services]:
    def make(
        clock: Callable[[], datetime] | None = None,
        name: str = "collector.db",
        url: str | None = None,
    ) -> Services:
        # A new database starts migrated (a copy); create_schema then finds it current.
        engine = make_engine(url or new_database(name, migrated=True))
        create_schema(engine)
        kwargs: dict[str, Any] = {"clock": clock} if clock is not None else {}
        return services_for(engine, load_catalogue(), load_units(), **kwargs)

    return make


@pytest.fixture
def services(make_services: Callable[..., Services], clock: Clock) -> Services:
    return make_services(clock)


@pytest.fixture
def collector(services: Services, clock: Clock) -> Iterator[Collector]:
    app = create_app(services, app_config(max_body_bytes=256 * 1024))
    with BackgroundServer(app) as url:
        yield Collector(services=services, url=url, clock=clock, app=app)


@pytest.fixture
def reader(collector: Collector) -> Iterator[Any]:
    """An HTTP client logged in to ``collector`` as a viewer (the readiness API needs one)."""
    from tests.peers.site import login

    collector.services.accounts.add_user("reader", "reader-pass-1", "viewer")
    client = login(collector.url, "reader", "reader-pass-1")
    try:
        yield client
    finally:
        client.close()


@contextmanager
def reports_locked(db_url: str, *, readers_too: bool = True) -> Iterator[None]:
    """Another connection holds the reports table locked for as long as the block runs:
    SQLite ``BEGIN EXCLUSIVE`` (or ``IMMEDIATE``: writers wait, readers go on), PostgreSQL
    ``LOCK TABLE reports IN ACCESS EXCLUSIVE`` (or ``EXCLUSIVE``) MODE."""
    url = database_url(db_url)
    if url.startswith("sqlite"):
        holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE" if readers_too else "BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    from sqlalchemy import create_engine

    mode = "ACCESS EXCLUSIVE" if readers_too else "EXCLUSIVE"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"LOCK TABLE reports IN {mode} MODE")
            try:
                yield
            finally:
                conn.rollback()
    finally:
        engine.dispose()
