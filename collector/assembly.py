"""Assembly: configuration -> database, rules, services. The one place that builds them
(the app is then `collector.api.app.create_app(services, config)`)."""

from __future__ import annotations

import gc
from collections.abc import Callable
from datetime import datetime

from checks.model import utcnow
from collector.config import CollectorConfig
from collector.domain.units import load_units
from collector.service import Services, services_for
from collector.service.rollups import Retention
from collector.storage.connect import open_database


def open_services(
    config: CollectorConfig,
    *,
    migrate: bool = False,
    wait_s: float | None = 0.0,
    clock: Callable[[], datetime] = utcnow,
) -> Services:
    """The services over ``config.db``: its schema version checked, or migrated when
    ``migrate`` (a database of one's own, or `ioc-collector migrate` / `serve --migrate`);
    ``wait_s``: how long to wait for a database that does not answer (None: until it does;
    see collector.storage.connect.open_database)."""
    catalogue = config.load_catalogue()
    engine = open_database(
        config.db, busy_timeout_s=config.db_busy_timeout_s, migrate=migrate, wait_s=wait_s
    )
    return services_for(
        engine,
        catalogue,
        load_units(),
        clock,
        config.calendar.working_calendar(),
        retire_after_days=config.host_retire_after_days,
        retention=Retention(**config.retention.model_dump()),
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
