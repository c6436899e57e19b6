"""Assembly: configuration -> engine, schema, catalogue, store, app."""

from __future__ import annotations

from fastapi import FastAPI

from collector.app import Settings, create_app
from collector.config import CollectorConfig, parse_listen
from collector.db import create_schema, make_engine
from collector.metrics import DEFAULT_HOST_VALUES
from collector.store import Store
from collector.units import load_units


def open_store(config: CollectorConfig) -> Store:
    catalogue = config.load_catalogue()
    engine = make_engine(config.db, busy_timeout_s=config.db_busy_timeout_s)
    create_schema(engine)
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
