"""TRANSITIONAL: see collector.service.history."""

from collector.service.history import DEFAULT_EVERY_S, NATION  # noqa: F401
from collector.service.history import history as _history
from collector.service.history import snapshot as _snapshot


def snapshot(store, min_interval_s=DEFAULT_EVERY_S):
    return _snapshot(store.services.database, store.services.readiness, min_interval_s)


def history(store, scope=NATION, limit=200):
    return _history(store.services.database, scope, limit)
