"""Assembly: configuration -> engine, schema, catalogue, store, app."""

from __future__ import annotations

import gc

from fastapi import FastAPI

from collector.app import Settings, create_app
from collector.config import CollectorConfig, parse_listen
from collector.db import open_database
from collector.metrics import DEFAULT_HOST_VALUES
from collector.store import Store
from collector.units import load_units


def open_store(
    config: CollectorConfig, *, migrate: bool = False, wait_s: float | None = 0.0
) -> Store:
    """The store on ``config.db``: its schema version checked, or migrated when
    ``migrate`` (a database of one's own, or `ioc-collector migrate` / `serve --migrate`);
    ``wait_s``: how long to wait for a database that does not answer (None: until it does;
    see collector.db.open_database)."""
    catalogue = config.load_catalogue()
    engine = open_database(
        config.db, busy_timeout_s=config.db_busy_timeout_s, migrate=migrate, wait_s=wait_s
    )
    return Store(engine, catalogue, load_units())


def build_app(store: Store, config: CollectorConfig) -> FastAPI:
    return create_app(
        store,
        Settings(
            max_body_bytes=config.max_body_bytes,
            reevaluate_every_s=config.reevaluate_every_s,
            retry_after_s=config.retry_after_s,
            max_ingest_inflight=config.max_ingest_inflight,
            max_ingest_inflight_bytes=config.max_ingest_inflight_bytes,
            max_ingest_wait_s=config.max_ingest_wait_s,
            reflector_host=parse_listen(config.listen)[0],
            reflector_port=config.reflector_port or None,
            reuse_port=config.reuse_port,
            host_values=DEFAULT_HOST_VALUES | frozenset(config.metrics_host_values),
            ingest_rate_per_s=config.ingest_rate_per_s,
            ingest_burst=config.ingest_burst,
            auth_failures_per_min=config.auth_failures_per_min,
            auth_failures_burst=config.auth_failures_burst,
        ),
    )


#: Allocations (less deallocations) between two collections of the youngest generation;
#: CPython's default is 700.
GC_YOUNG_THRESHOLD = 10_000


def settle_gc() -> None:
    """Garbage-collector settings for a long-running collector process, once it is set up.

    What the process loaded to start (modules, the nation's 3,321 communes, the catalogue,
    the app) lives as long as it does, yet every full collection walked all of it again;
    and decoding a commune's stored findings allocates thousands of containers, each
    thousand or so a collection. Evaluating every commune of the nation spent about a third
    of its time in the collector (9.7 s -> 5.4 s without). Freezing moves the start-up
    objects out of the collector's sight (they are still freed by reference counting), and
    a higher young-generation threshold collects less often; cyclic garbage is still found.
    """
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, GC_YOUNG_THRESHOLD), middle, old)
