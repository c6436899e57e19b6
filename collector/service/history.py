"""Green coverage over time: snapshots kept in the ``coverage_history`` table.

The periodic re-evaluation (the app's background pass) takes a snapshot at most every
``DEFAULT_EVERY_S`` seconds (checked against the database, so several collector replicas
do not multiply the rows); the demo takes one after its summary, and none while it loads
(:meth:`History.held`): a half-loaded nation is not a point of the history.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from collector.criteria.engine import COLOURS
from collector.service.base import Core, Service
from collector.service.readiness import Readiness
from collector.storage import schema as db
from collector.storage.codecs import as_utc

NATION = "00"
DEFAULT_EVERY_S = 900.0


class History(Service):
    def __init__(self, core: Core, readiness: Readiness) -> None:
        super().__init__(core)
        self.readiness = readiness
        self._holds = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """No snapshot is taken by this process while inside (the demo while its nation is
        still loading): :meth:`snapshot` answers False."""
        with self._lock:
            self._holds += 1
        try:
            yield
        finally:
            with self._lock:
                self._holds -= 1

    def snapshot(self, min_interval_s: float = DEFAULT_EVERY_S, *, by_holder: bool = False) -> bool:
        """Record the colour counts of the nation and of each province; False if one is
        recent, or while snapshots are :meth:`held` (unless ``by_holder``: the one who
        holds them takes the first point, when its data is complete)."""
        if self._holds and not by_holder:
            return False
        now = self.clock()
        h = db.coverage_history
        with self.database.read() as conn:
            last = conn.execute(select(func.max(h.c.taken_at)).where(h.c.scope == NATION)).scalar()
        if last is not None and now - as_utc(last) < timedelta(seconds=min_interval_s):
            return False
        by_scope: dict[str, Counter[str]] = {NATION: Counter()}
        size: Counter[str] = Counter()
        for s in self.readiness.commune_states():
            for scope in (NATION, s.province_code):
                by_scope.setdefault(scope, Counter())[s.colour.value] += 1
                size[scope] += 1
        rows = [
            {
                "taken_at": now,
                "scope": scope,
                "communes": size[scope],
                **{c.value: counts.get(c.value, 0) for c in COLOURS},
            }
            for scope, counts in by_scope.items()
        ]
        with self.database.write() as conn:
            conn.execute(h.insert(), rows)
        return True

    def history(self, scope: str = NATION, limit: int = 200) -> list[dict[str, Any]]:
        """Snapshots of one scope (the nation, or a province code), oldest first."""
        h = db.coverage_history
        q = select(h).where(h.c.scope == scope).order_by(h.c.taken_at.desc()).limit(limit)
        with self.database.read() as conn:
            rows = list(conn.execute(q))
        return [
            {
                "taken_at": as_utc(r.taken_at),
                "communes": r.communes,
                "green": r.green,
                "yellow": r.yellow,
                "red": r.red,
                "grey": r.grey,
                "green_ratio": round(r.green / r.communes, 4) if r.communes else 0.0,
            }
            for r in reversed(rows)
        ]
