"""Green coverage over time: snapshots in the database, throttled, taken by the collector's
periodic re-evaluation."""

from __future__ import annotations

import time

from collector.api.app import create_app
from collector.api.server import BackgroundServer
from tests.conftest import app_config


def test_snapshot_is_throttled_and_kept_in_the_database(services, clock) -> None:
    assert services.history.snapshot(min_interval_s=900)
    assert not services.history.snapshot(min_interval_s=900)  # too soon: no second row
    clock.advance(seconds=901)
    assert services.history.snapshot(min_interval_s=900)
    nation = services.history.history()
    assert [r["communes"] for r in nation] == [3321, 3321]
    assert nation[0]["taken_at"] < nation[1]["taken_at"]
    cao_bang = services.history.history("04")
    assert len(cao_bang) == 2 and cao_bang[0]["grey"] == cao_bang[0]["communes"]


def test_periodic_reevaluation_takes_snapshots(services) -> None:
    app = create_app(services, app_config(reevaluate_every_s=0.2))
    with BackgroundServer(app):
        deadline = time.monotonic() + 20
        while not services.history.history() and time.monotonic() < deadline:
            time.sleep(0.1)
    assert services.history.history(), "the re-evaluation loop stored a snapshot"


def test_no_snapshot_while_held(services, clock) -> None:
    app = create_app(services, app_config(reevaluate_every_s=0.1))
    with BackgroundServer(app):
        with services.history.held():
            assert not services.history.snapshot(min_interval_s=0)
            time.sleep(1.0)  # about ten periodic passes
            assert services.history.history() == []
            assert services.history.snapshot(min_interval_s=0, by_holder=True)
            assert len(services.history.history()) == 1
        clock.advance(seconds=901)  # the next periodic snapshot is due
        deadline = time.monotonic() + 20
        while len(services.history.history()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert len(services.history.history()) == 2, "the periodic pass snapshots once released"
