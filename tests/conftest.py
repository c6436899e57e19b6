"""Shared test fixtures: a collector on a temporary SQLite file, served on loopback."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collector.app import Settings, create_app
from collector.criteria.catalogue import load_catalogue
from collector.db import create_schema, make_engine
from collector.server import BackgroundServer
from collector.store import Store
from collector.units import load_units

REQUIRE_INTEGRATION = os.environ.get("IOC_REQUIRE_INTEGRATION") == "1"


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
    store: Store
    url: str
    clock: Clock
    db_path: Path


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_store(tmp_path: Path) -> Callable[..., Store]:
    def make(clock: Callable[[], datetime] | None = None, name: str = "collector.db") -> Store:
        engine = make_engine(tmp_path / name)
        create_schema(engine)
        kwargs = {"clock": clock} if clock is not None else {}
        return Store(engine, load_catalogue(), load_units(), **kwargs)

    return make


@pytest.fixture
def store(make_store: Callable[..., Store], clock: Clock) -> Store:
    return make_store(clock)


@pytest.fixture
def collector(store: Store, clock: Clock, tmp_path: Path) -> Iterator[Collector]:
    app = create_app(store, Settings(reevaluate_every_s=0, max_body_bytes=256 * 1024))
    with BackgroundServer(app) as url:
        yield Collector(store=store, url=url, clock=clock, db_path=tmp_path / "collector.db")
