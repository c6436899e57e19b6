"""A collector with simulated provinces and people who log in, for the web and report tests.

The store's clock is frozen at the start, so the simulated communes stay fresh (not grey)
however long the session runs.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from collector.api.app import create_app
from collector.api.server import BackgroundServer
from collector.criteria.catalogue import load_catalogue
from collector.demo.simulator import Simulator
from collector.domain.units import load_units
from collector.service import Services, services_for
from collector.storage.connect import create_schema, make_engine
from tests.conftest import Clock, app_config, database_under_test

PASSWORDS = {
    "viewer": "viewer-pass-1",
    "operator": "operator-pass-1",
    "admin": "admin-pass-1",
}


@dataclass
class Site:
    services: Services
    url: str
    db_path: str  # SQLite path or database URL, as `--db` takes it
    clock: Clock


def database_for(request: pytest.FixtureRequest, tmp: Path) -> str:
    """A fresh database of the backend under test (IOC_TEST_DATABASE), for a wider-scoped
    fixture: a SQLite file under ``tmp``, or a new PostgreSQL database."""
    if database_under_test() == "postgresql":
        return str(request.getfixturevalue("postgres_server").create_database())
    return str(tmp / "ioc.db")


def open_site(db: str | Path, provinces: set[str] | None, users: bool = True) -> Iterator[Site]:
    """Collector on ``db`` (path or URL) with the simulated ``provinces`` (None = nation)."""
    clock = Clock()
    engine = make_engine(db)
    create_schema(engine)
    services = services_for(engine, load_catalogue(), load_units(), clock=clock)
    if users:
        for role, password in PASSWORDS.items():
            services.accounts.add_user(role, password, role)
    app = create_app(services, app_config())
    with BackgroundServer(app) as url:
        stats = asyncio.run(Simulator(url, services, provinces=provinces, concurrency=8).run())
        assert not stats.errors, stats.errors[:3]
        services.history.snapshot(min_interval_s=0)
        yield Site(services, url, str(db), clock)


def login(
    url: str, role: str, password: str | None = None, verify: ssl.SSLContext | bool = True
) -> httpx.Client:
    """An HTTP client logged in as the user named after ``role`` (``verify``: for HTTPS)."""
    client = httpx.Client(base_url=url, timeout=30.0, verify=verify)
    form = client.get("/login")
    assert form.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    r = client.post(
        "/login",
        data={
            "username": role,
            "password": password or PASSWORDS[role],
            "csrf": csrf.group(1),
            "next": "/",
        },
    )
    assert r.status_code == 303, r.text
    return client


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m is not None
    return m.group(1)
